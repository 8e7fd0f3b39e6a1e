#!/usr/bin/env python3
"""Merges the swarm reports and /proc samples of one capacity step into a JSON line, and prints and judges
those lines for scripts/capacity.sh.

  capacity_report.py header
  capacity_report.py step PLAYERS SAMPLE_S TICK_P99_MS BET_P99_MS BASELINE BEFORE AFTER SWARM_JSON...
  capacity_report.py row LINE | held LINE | why LINE

The swarms' latency histograms arrive raw ([value_us, count] pairs) so that quantiles are computed over
every sample of the step, not averaged across swarm processes.
"""
import json
import os
import sys

GROUPS = ["nodes", "nginx", "redis", "postgres", "swarm"]


def quantile(pairs, q):
    """The value at quantile q of a histogram given as [value, count] pairs."""
    total = sum(count for _, count in pairs)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for value, count in sorted(pairs):
        seen += count
        if seen >= rank:
            return value
    return sorted(pairs)[-1][0]


def merged(reports, name):
    pairs = {}
    for report in reports:
        for value, count in report.get("histograms", {}).get(name, []):
            pairs[value] = pairs.get(value, 0) + count
    return list(pairs.items())


def ms(value_us):
    return None if value_us is None else round(value_us / 1000.0, 2)


def parse_samples(text):
    samples = {}
    for line in text.strip().splitlines():
        group, ticks, rss = line.split()
        samples[group] = (int(ticks), int(rss))
    return samples


def step(args):
    players, sample_s, tick_target, bet_target, baseline, before, after = args[:7]
    reports = []
    for path in args[7:]:
        with open(path) as handle:
            text = handle.read().strip()
        if text:
            reports.append(json.loads(text.splitlines()[-1]))
    baseline, before, after = parse_samples(baseline), parse_samples(before), parse_samples(after)
    clock = os.sysconf("SC_CLK_TCK")
    processes = {}
    for group in GROUPS:
        ticks = after.get(group, (0, 0))[0] - before.get(group, (0, 0))[0]
        processes[group] = {
            "cpu_percent": round(100.0 * max(ticks, 0) / clock / float(sample_s), 1),
            "rss_mib": round(after.get(group, (0, 0))[1] / 1024.0, 1),
        }
    total = lambda key: sum(report.get(key, 0) or 0 for report in reports)
    tick, bet, cashout = (merged(reports, name) for name in ("tick_us", "bet_ack_us", "cashout_ack_us"))
    connected = total("connected")
    # The nodes' memory in the middle of the step over their memory before the first step.
    node_growth_kib = after.get("nodes", (0, 0))[1] - baseline.get("nodes", (0, 0))[1]
    line = {
        "players": int(players),
        "connected": connected,
        "connect_failed": total("connect_failed"),
        "closed_early": total("closed_early"),
        "ticks_received": total("ticks_received"),
        "messages_per_s": round(total("messages_per_s")),
        "tick_p50_ms": ms(quantile(tick, 0.50)),
        "tick_p99_ms": ms(quantile(tick, 0.99)),
        "tick_max_ms": ms(max((value for value, _ in tick), default=None)),
        "bets_acked": total("bets_acked"),
        "bet_errors": sum(sum((report.get("bet_errors") or {}).values()) for report in reports),
        "bet_ack_p99_ms": ms(quantile(bet, 0.99)),
        "cashout_ack_p99_ms": ms(quantile(cashout, 0.99)),
        "seq_gaps": total("seq_gaps"),
        "node_kib_per_connection": round(node_growth_kib / connected, 2) if connected and node_growth_kib else None,
        "processes": processes,
        "targets": {"tick_p99_ms": float(tick_target), "bet_ack_p99_ms": float(bet_target)},
    }
    print(json.dumps(line))


def reasons(line):
    missed = []
    targets = line["targets"]
    if line["connected"] < line["players"]:
        missed.append("%d of %d players connected" % (line["connected"], line["players"]))
    if line["closed_early"]:
        missed.append("%d sockets closed early" % line["closed_early"])
    if line["tick_p99_ms"] is None or line["tick_p99_ms"] >= targets["tick_p99_ms"]:
        missed.append("tick p99 %s ms (target < %s)" % (line["tick_p99_ms"], targets["tick_p99_ms"]))
    if line["bet_ack_p99_ms"] is not None and line["bet_ack_p99_ms"] >= targets["bet_ack_p99_ms"]:
        missed.append("bet ack p99 %s ms (target < %s)" % (line["bet_ack_p99_ms"], targets["bet_ack_p99_ms"]))
    return missed


def header():
    columns = ["players", "connected", "tick p50/p99/max ms", "bet ack p99 ms", "msgs/s", "node KiB/conn"]
    columns += ["%s CPU%% / PSS MiB" % group for group in GROUPS]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---:|" * len(columns))


def row(line):
    cells = [
        line["players"],
        line["connected"],
        "%s / %s / %s" % (line["tick_p50_ms"], line["tick_p99_ms"], line["tick_max_ms"]),
        line["bet_ack_p99_ms"],
        line["messages_per_s"],
        line["node_kib_per_connection"],
    ]
    cells += ["%s / %s" % (line["processes"][g]["cpu_percent"], line["processes"][g]["rss_mib"]) for g in GROUPS]
    print("| " + " | ".join(str(cell) for cell in cells) + " |")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "header":
        header()
    elif command == "step":
        step(args)
    elif command == "row":
        row(json.loads(args[0]))
    elif command == "held":
        sys.exit(1 if reasons(json.loads(args[0])) else 0)
    elif command == "why":
        print("; ".join(reasons(json.loads(args[0]))))
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
