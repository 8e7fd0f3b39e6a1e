// The API reference page: Swagger UI renders the OpenAPI document the server generates from its code, and
// the WebSocket protocol's section is drawn from the AsyncAPI document generated from the message types.
'use strict';

function renderHttpApi() {
  window.SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#reference',
    deepLinking: true,
    // The page loads nothing from another host: no online validator badge.
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
  });
}

function cell(row, text, tag = 'td') {
  const element = document.createElement(tag);
  if (typeof text === 'string') {
    element.textContent = text;
  } else {
    element.appendChild(text);
  }
  row.appendChild(element);
}

function schemaBlock(schema) {
  const pre = document.createElement('pre');
  pre.textContent = JSON.stringify(schema, null, 2);
  return pre;
}

function messagesTable(title, messages) {
  const fragment = document.createDocumentFragment();
  const heading = document.createElement('h3');
  heading.textContent = title;
  fragment.appendChild(heading);
  const table = document.createElement('table');
  const head = document.createElement('tr');
  ['type', 'what it means', 'payload'].forEach((name) => cell(head, name, 'th'));
  table.appendChild(head);
  messages.forEach((message) => {
    const row = document.createElement('tr');
    cell(row, message.name);
    cell(row, message.summary || '');
    cell(row, schemaBlock(message.payload));
    table.appendChild(row);
  });
  fragment.appendChild(table);
  return fragment;
}

function closeCodesTable(codes) {
  const fragment = document.createDocumentFragment();
  const heading = document.createElement('h3');
  heading.textContent = 'Close codes';
  fragment.appendChild(heading);
  const table = document.createElement('table');
  codes.forEach((entry) => {
    const row = document.createElement('tr');
    cell(row, String(entry.code));
    cell(row, entry.meaning);
    table.appendChild(row);
  });
  fragment.appendChild(table);
  return fragment;
}

async function renderProtocol() {
  const summary = document.getElementById('protocol-summary');
  const target = document.getElementById('protocol-messages');
  try {
    const response = await fetch('/api/asyncapi.json');
    const document_ = await response.json();
    summary.textContent = document_.info.description;
    const messages = document_.components.messages;
    const byDirection = (direction) => Object.values(messages).filter((message) => message['x-direction'] === direction);
    target.appendChild(messagesTable('Client → server', byDirection('client')));
    target.appendChild(messagesTable('Server → client', byDirection('server')));
    target.appendChild(closeCodesTable(document_['x-close-codes']));
  } catch (error) {
    summary.textContent = `The protocol could not be loaded: ${error}`;
  }
}

window.addEventListener('DOMContentLoaded', () => {
  renderHttpApi();
  renderProtocol();
});
