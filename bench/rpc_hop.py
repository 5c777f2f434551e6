"""The RPC hop alone (issue 21): what a round trip through RabbitMQ costs, layer by layer.

    .venv/bin/python -m bench.rpc_hop [--rounds 300] [--vhost NAME]

Two processes on one private vhost (created, deleted at the end): this one asks, a child
answers. Three ways, alternated in one run, each --rounds round trips after a warm-up:

* `amqp, no confirms`: py-amqp directly, publish to a queue, the child publishes the
  answer to a reply queue; each side blocks on its socket (the broker's floor);
* `amqp, publisher confirms`: the same, every publish waits for the broker's confirm
  (what oslo.messaging's rabbit driver always does: `confirm_publish` fixed on);
* `oslo.messaging call`: an RPC server (threading executor) in the child with an
  endpoint that only returns, `RPCClient.call` here: the hop `detail` and the keypair
  job pay, without any Multisite code.

Prints p50/p90 ms and the CPU ms per round trip of each side (from /proc), and the load.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import amqp

from bench import api_throughput, latency

HOST = "127.0.0.1:5672"


def _connection(vhost, confirms):
    conn = amqp.Connection(host=HOST, userid="guest", password="guest", virtual_host=vhost,
                           confirm_publish=confirms)
    conn.connect()
    return conn


def amqp_answerer(vhost, confirms):
    """Child: answer every message on h21-ask with the same body on h21-answer."""
    conn = _connection(vhost, confirms)
    channel = conn.channel()
    channel.queue_declare("hop-ask", auto_delete=False)
    channel.queue_declare("hop-answer", auto_delete=False)

    def answer(message):
        channel.basic_publish(amqp.Message(message.body), routing_key="hop-answer")
        channel.basic_ack(message.delivery_tag)

    channel.basic_consume("hop-ask", callback=answer)
    print("ready", flush=True)
    while True:
        conn.drain_events()


def amqp_rounds(vhost, confirms, rounds):
    conn = _connection(vhost, confirms)
    channel = conn.channel()
    channel.queue_declare("hop-ask", auto_delete=False)
    channel.queue_declare("hop-answer", auto_delete=False)
    got = []
    channel.basic_consume("hop-answer", callback=lambda m: (got.append(m.body),
                                                            channel.basic_ack(m.delivery_tag)))
    times = []
    for i in range(rounds):
        body = str(i).encode()
        started = time.perf_counter()
        channel.basic_publish(amqp.Message(body), routing_key="hop-ask")
        while not got:
            conn.drain_events(timeout=30)
        times.append(time.perf_counter() - started)
        assert got.pop() == body
    conn.close()
    return times


class _Ping:
    def ping(self, ctxt, value):
        return value


def _oslo_transport(vhost):
    import oslo_messaging

    from multisite import rpc
    from multisite.conf import CONF as conf  # oslo.messaging's tracing opts live there

    rpc.register_opts(conf)
    conf([], project="hop", default_config_files=[])
    return oslo_messaging.get_rpc_transport(
        conf, url=f"rabbit://guest:guest@{HOST}/{vhost}"), oslo_messaging


def oslo_answerer(vhost):
    transport, oslo_messaging = _oslo_transport(vhost)
    target = oslo_messaging.Target(topic="hop", server="one")
    server = oslo_messaging.get_rpc_server(transport, target, [_Ping()])  # threading
    server.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def oslo_rounds(vhost, rounds):
    transport, oslo_messaging = _oslo_transport(vhost)
    client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic="hop"))
    client.call({}, "ping", value=-1)     # the reply queue and connections: not timed
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        assert client.call({}, "ping", value=i) == i
        times.append(time.perf_counter() - started)
    transport.cleanup()
    return times


def measure(way, vhost, rounds):
    child = subprocess.Popen([sys.executable, "-m", "bench.rpc_hop", "--answer", way,
                              "--vhost", vhost], stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        assert child.stdout.readline().strip() == "ready"
        run = ((lambda n: oslo_rounds(vhost, n)) if way == "oslo" else
               (lambda n: amqp_rounds(vhost, way == "confirm", n)))
        run(20)                                          # warm-up
        load = os.getloadavg()[0]
        mine, theirs = time.process_time(), api_throughput.processes_cpu(child.pid)
        times = run(rounds)
        mine = time.process_time() - mine
        theirs = api_throughput.processes_cpu(child.pid) - theirs
    finally:
        child.terminate()
        child.wait(timeout=30)
    return {"p50": statistics.median(times), "p90": latency._p(times, 0.9),
            "asker_cpu": mine / rounds, "answerer_cpu": theirs / rounds, "load": load}


NAMES = {"plain": "amqp, no confirms", "confirm": "amqp, publisher confirms",
         "oslo": "oslo.messaging call (threading executor)"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--vhost")
    parser.add_argument("--ways", nargs="+", choices=list(NAMES), default=list(NAMES))
    parser.add_argument("--answer", choices=list(NAMES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.answer:
        if args.answer == "oslo":
            oslo_answerer(args.vhost)
        else:
            amqp_answerer(args.vhost, args.answer == "confirm")
        return
    print(f"{os.cpu_count()} CPUs; uptime: {os.popen('uptime').read().strip()}")
    rows = []
    with latency._vhost(args.vhost) as vhost:
        for _ in range(args.repeat):
            for way in args.ways:
                rows.append((way, measure(way, vhost, args.rounds)))
                print(rows[-1], file=sys.stderr, flush=True)
    print(f"| way ({args.rounds} round trips) | p50 ms | p90 ms | CPU ms per round trip: "
          "asker / answerer | load |\n|---|---|---|---|---|")
    for way, r in rows:
        print(f"| {NAMES[way]} | {r['p50'] * 1000:.2f} | {r['p90'] * 1000:.2f} | "
              f"{r['asker_cpu'] * 1000:.2f} / {r['answerer_cpu'] * 1000:.2f} | "
              f"{r['load']:.1f} |")


if __name__ == "__main__":
    main()
