#!/usr/bin/env python3
"""Merges the swarm reports and /proc samples of one capacity step into a JSON line, and prints and judges
those lines for scripts/capacity.sh.

  capacity_report.py header
  capacity_report.py step SERVER TOPOLOGY TICK_MS PLAYERS SAMPLE_S TICK_P99_MS BET_P99_MS START BEFORE AFTER
                          SWARM_JSON...
  capacity_report.py row LINE | held LINE | why LINE | stalled LINE
  capacity_report.py summary JSONL_FILE

SERVER is "cluster" or "baseline", TOPOLOGY "nginx" or "direct". START, BEFORE and AFTER are /proc samples
(scripts/capacity.sh snapshot): START before the search's first step, BEFORE and AFTER around the measured
middle of this step.

The swarms' latency histograms arrive raw ([value_us, count] pairs) so that quantiles are computed over
every sample of the step, not averaged across swarm processes.
"""
import json
import os
import sys

GROUPS = ["server", "nginx", "redis", "postgres", "swarm"]

# A step during which scripts/stall_watch.py overslept this long ran on a stopped machine (its host paused
# or snapshotted it): every process froze at once, so the step says nothing of fan-out and runs again.
MACHINE_STALL_MS_MAX = 1000


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
        group, ticks, rss, *wait = line.split()
        samples[group] = (int(ticks), int(rss), int(wait[0]) if wait else 0)
    return samples


def step(args):
    server, topology, tick_ms = args[:3]
    players, sample_s, tick_target, bet_target, start, before, after = args[3:10]
    reports = []
    for path in args[10:]:
        with open(path) as handle:
            text = handle.read().strip()
        if text:
            reports.append(json.loads(text.splitlines()[-1]))
    start, before, after = parse_samples(start), parse_samples(before), parse_samples(after)
    clock = os.sysconf("SC_CLK_TCK")
    processes = {}
    for group in GROUPS:
        ticks = after.get(group, (0, 0, 0))[0] - before.get(group, (0, 0, 0))[0]
        wait_ms = after.get(group, (0, 0, 0))[2] - before.get(group, (0, 0, 0))[2]
        processes[group] = {
            "cpu_percent": round(100.0 * max(ticks, 0) / clock / float(sample_s), 1),
            # Time the group's threads were runnable but waited for a core, in % of one core's time.
            "wait_percent": round(100.0 * max(wait_ms, 0) / 1000.0 / float(sample_s), 1),
            "rss_mib": round(after.get(group, (0, 0, 0))[1] / 1024.0, 1),
        }
    total = lambda key: sum(report.get(key, 0) or 0 for report in reports)
    tick, bet, cashout, cashout_tick = (
        merged(reports, name) for name in ("tick_us", "bet_ack_us", "cashout_ack_us", "cashout_tick_us")
    )
    connected = total("connected")
    # The server's memory in the middle of the step over its memory before the search's first step (a
    # node keeps what it allocated for earlier steps, so not against the step's own start).
    server_growth_kib = after.get("server", (0, 0))[1] - start.get("server", (0, 0))[1]
    nginx_growth_kib = after.get("nginx", (0, 0))[1] - start.get("nginx", (0, 0))[1]
    line = {
        "kind": "step",
        "server": server,
        "topology": topology,
        "tick_interval_ms": int(tick_ms),
        "players": int(players),
        "connected": connected,
        "connect_failed": total("connect_failed"),
        "closed_early": total("closed_early"),
        "ticks_received": total("ticks_received"),
        # A tick's mean payload: ticks carry the cashouts since the previous one, so the bettors make them
        # longer than the baseline's fixed frame (CAPACITY_TICK_BYTES).
        "tick_mean_bytes": round(total("tick_bytes_received") / total("ticks_received")) if total("ticks_received") else None,
        "messages_per_s": round(total("messages_per_s")),
        "tick_p50_ms": ms(quantile(tick, 0.50)),
        "tick_p99_ms": ms(quantile(tick, 0.99)),
        "tick_max_ms": ms(max((value for value, _ in tick), default=None)),
        # The ticks that carry cashouts: their share of the ticks and their own p99 tell whether the longer
        # frames are the late ones.
        "cashout_ticks_share": round(sum(count for _, count in cashout_tick) / sum(count for _, count in tick), 4)
        if tick
        else None,
        "cashout_tick_p99_ms": ms(quantile(cashout_tick, 0.99)),
        "bets_acked": total("bets_acked"),
        "bet_errors": sum(sum((report.get("bet_errors") or {}).values()) for report in reports),
        "bet_ack_p99_ms": ms(quantile(bet, 0.99)),
        "cashout_ack_p99_ms": ms(quantile(cashout, 0.99)),
        "seq_gaps": total("seq_gaps"),
        "server_kib_per_connection": round(server_growth_kib / connected, 2) if connected and server_growth_kib else None,
        "nginx_kib_per_connection": round(nginx_growth_kib / connected, 2) if connected and nginx_growth_kib else None,
        "processes": processes,
        "targets": {"tick_p99_ms": float(tick_target), "bet_ack_p99_ms": float(bet_target)},
        # The worst oversleep of scripts/stall_watch.py over the step (see MACHINE_STALL_MS_MAX).
        "machine_stall_ms": int(os.environ.get("MACHINE_STALL_MS") or 0),
    }
    print(json.dumps(line))


def reasons(line):
    """Why a step did not hold: a player not connected or closed, or the tick p99 over its target. The bet
    acknowledgement p99 is shown in the row but does not decide the player count."""
    missed = []
    targets = line["targets"]
    if line["connected"] < line["players"]:
        missed.append("%d of %d players connected" % (line["connected"], line["players"]))
    if line["closed_early"]:
        missed.append("%d sockets closed early" % line["closed_early"])
    if line["tick_p99_ms"] is None or line["tick_p99_ms"] >= targets["tick_p99_ms"]:
        missed.append("tick p99 %s ms (target < %s)" % (line["tick_p99_ms"], targets["tick_p99_ms"]))
    return missed


def stalled(line):
    """Whether the machine itself stopped during the step, so that the step says nothing of fan-out."""
    return line.get("machine_stall_ms", 0) >= MACHINE_STALL_MS_MAX


def header():
    columns = ["server", "topology", "tick ms", "players", "connected", "tick p50/p99/max ms", "bet ack p99 ms"]
    columns += ["msgs/s", "server KiB/conn", "nginx KiB/conn"]
    columns += ["%s CPU%% / PSS MiB" % group for group in GROUPS]
    columns += ["server / swarm wait%"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---:|" * len(columns))


def row(line):
    bet = line["bet_ack_p99_ms"]
    cells = [
        line["server"],
        line["topology"],
        line["tick_interval_ms"],
        line["players"],
        line["connected"],
        "%s / %s / %s" % (line["tick_p50_ms"], line["tick_p99_ms"], line["tick_max_ms"]),
        "%s%s" % (bet, " (over %s)" % line["targets"]["bet_ack_p99_ms"] if bet and bet >= line["targets"]["bet_ack_p99_ms"] else ""),
        line["messages_per_s"],
        line["server_kib_per_connection"],
        line["nginx_kib_per_connection"],
    ]
    cells += ["%s / %s" % (line["processes"][g]["cpu_percent"], line["processes"][g]["rss_mib"]) for g in GROUPS]
    cells.append("%s / %s" % tuple(line["processes"][g].get("wait_percent") for g in ("server", "swarm")))
    verdict = "held" if not reasons(line) else "missed: " + "; ".join(reasons(line))
    if stalled(line):
        verdict += " (the machine stopped for %d ms: run again)" % line["machine_stall_ms"]
    cells.append(verdict)
    print("| " + " | ".join(str(cell) for cell in cells) + " |")


def summary(path):
    """The table for docs/BENCHMARKS.md: per tick interval and topology, each server's largest count that
    held, its ratio, and memory per connection and CPU at that count; also appended to the file as JSON."""
    with open(path) as handle:
        lines = [json.loads(text) for text in handle if text.strip()]
    steps = [line for line in lines if line.get("kind") == "step"]
    held = {(l["tick_interval_ms"], l["topology"], l["server"]): l["players"] for l in lines if l.get("kind") == "held"}
    keys = sorted({(tick, topology) for tick, topology, _ in held}, key=lambda key: (key[0], key[1] != "nginx"))

    def at_held(tick, topology, server):
        players = held.get((tick, topology, server))
        # The last such step: a step without ticks was run again, and the repeat decided.
        return next((l for l in reversed(steps) if (l["tick_interval_ms"], l["topology"], l["server"], l["players"])
                     == (tick, topology, server, players)), None)

    def marginal_kib(tick, topology, server):
        """KiB per added connection: the server's memory growth between the lowest and the highest count
        of the search's rising steps in which every socket connected and stayed, over the connections
        added. Unlike the growth over the search's start divided by the connections, it leaves out what a
        node allocates once (the bettors' state, the runtime's first buffers). Meaningful in a server's
        first search only: later searches start on memory the earlier ones left."""
        rising = []
        for line in steps:
            if (line["tick_interval_ms"], line["topology"], line["server"]) != (tick, topology, server):
                continue
            if not line.get("ticks_received", 1):
                continue  # run again (measure_step)
            if rising and line["players"] <= rising[-1]["players"]:
                break
            rising.append(line)
        held_steps = [l for l in rising if l["connected"] == l["players"] and l["closed_early"] == 0
                      and l["server_kib_per_connection"] is not None]
        if len(held_steps) < 2:
            return None
        low, high = held_steps[0], held_steps[-1]
        growth = lambda l: l["server_kib_per_connection"] * l["connected"]
        return round((growth(high) - growth(low)) / (high["connected"] - low["connected"]), 2)

    def cpu(line):
        if not line:
            return "—"
        return " / ".join(str(line["processes"][group]["cpu_percent"]) for group in ("server", "nginx", "swarm"))

    columns = ["tick ms", "topology", "cluster players", "baseline players", "cluster / baseline",
               "cluster KiB/conn", "baseline KiB/conn", "cluster KiB/added conn", "baseline KiB/added conn",
               "cluster CPU% server / nginx / swarm",
               "baseline CPU% server / nginx / swarm", "tick bytes cluster / baseline"]
    print("\n| " + " | ".join(columns) + " |")
    print("|---|---|" + "---:|" * (len(columns) - 2))
    records = []
    for tick, topology in keys:
        cluster, baseline = held.get((tick, topology, "cluster")), held.get((tick, topology, "baseline"))
        ratio = round(cluster / baseline, 2) if cluster is not None and baseline else None
        cluster_line, baseline_line = at_held(tick, topology, "cluster"), at_held(tick, topology, "baseline")
        kib = lambda line: line and line["server_kib_per_connection"]
        cluster_marginal = marginal_kib(tick, topology, "cluster")
        baseline_marginal = marginal_kib(tick, topology, "baseline")
        tick_bytes_of = lambda line: line and line.get("tick_mean_bytes")
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |" % (
            tick, topology, cluster, baseline, ratio, kib(cluster_line), kib(baseline_line),
            cluster_marginal, baseline_marginal, cpu(cluster_line), cpu(baseline_line),
            tick_bytes_of(cluster_line), tick_bytes_of(baseline_line)))
        records.append({"kind": "summary", "tick_interval_ms": tick, "topology": topology,
                        "cluster_players": cluster, "baseline_players": baseline, "ratio": ratio,
                        "cluster_kib_per_connection": kib(cluster_line),
                        "baseline_kib_per_connection": kib(baseline_line),
                        "cluster_kib_per_added_connection": cluster_marginal,
                        "baseline_kib_per_added_connection": baseline_marginal,
                        "cluster_tick_mean_bytes": tick_bytes_of(cluster_line),
                        "baseline_tick_mean_bytes": tick_bytes_of(baseline_line)})
    with open(path, "a") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def tick_bytes(path, topology, tick_ms):
    """The mean tick payload the swarms received from the cluster in this topology and tick interval's
    search (over all its steps, weighted by ticks); nothing when the cluster did not run it."""
    ticks = payload = 0
    with open(path) as handle:
        for text in handle:
            line = json.loads(text)
            if (line.get("kind"), line.get("server"), line.get("topology")) != ("step", "cluster", topology):
                continue
            if line.get("tick_interval_ms") != int(tick_ms) or not line.get("tick_mean_bytes"):
                continue
            ticks += line["ticks_received"]
            payload += line["tick_mean_bytes"] * line["ticks_received"]
    if ticks:
        print(round(payload / ticks))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "header":
        header()
    elif command == "step":
        step(args)
    elif command == "row":
        row(json.loads(args[0]))
    elif command == "tick_bytes":
        tick_bytes(*args)
    elif command == "ticked":
        sys.exit(0 if json.loads(args[0])["ticks_received"] else 1)
    elif command == "stalled":
        line = json.loads(args[0])
        print(line.get("machine_stall_ms", 0))
        sys.exit(0 if stalled(line) else 1)
    elif command == "held":
        sys.exit(1 if reasons(json.loads(args[0])) else 0)
    elif command == "summary":
        summary(args[0])
    elif command == "why":
        print("; ".join(reasons(json.loads(args[0]))))
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
