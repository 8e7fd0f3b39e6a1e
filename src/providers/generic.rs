//! Our generic seamless-wallet protocol: JSON over `POST /rgs/{provider_id}/{operation}`, HMAC-SHA256 signed.
