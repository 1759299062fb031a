// A TCP forwarder that can simulate a database outage without touching the database: Bun.listen on
// 127.0.0.1:<ephemeral>, each accepted connection piped to the target with Bun.connect. cut() closes every open
// connection and stops listening (new connections are refused: ECONNREFUSED, as when the server is down);
// restore() listens again on the same port. Other users of the real server are never affected.
import type { Socket, TCPSocketListener } from 'bun'

export interface TcpProxy {
  /** The port clients connect to (stable across cut/restore). */
  port: number
  /** Connections currently piped. */
  readonly open: number
  /** Close every connection (both sides) and refuse new ones until restore(). */
  cut(): void
  /** A silent network: connections stay open (new ones are accepted) but no byte is forwarded either way. */
  stall(): void
  /** Accept and forward connections again (stalled connections are closed: their streams are corrupt). */
  restore(): void
  stop(): void
}

interface Pair {
  client: Socket<Pair>
  upstream: Socket<Pair> | null
  /** Bytes waiting for the upstream to connect or drain, and for the client to drain. */
  toUpstream: Uint8Array[]
  toClient: Uint8Array[]
  closed: boolean
}

/** Writes what the socket accepts and queues the rest for its drain event (order preserved). */
function send(sock: Socket<Pair> | null, queue: Uint8Array[], data?: Uint8Array): void {
  if (data) queue.push(new Uint8Array(data)) // copy: the data buffer is only valid during the callback
  if (!sock) return
  while (queue.length) {
    const head = queue[0] as Uint8Array
    const n = sock.write(head)
    if (n < head.length) { queue[0] = head.subarray(Math.max(n, 0)); return }
    queue.shift()
  }
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let listener: TCPSocketListener<Pair> | null = null
  let port = 0
  let stalled = false

  const close = (p: Pair) => {
    if (p.closed) return
    p.closed = true
    pairs.delete(p)
    p.client.terminate()
    p.upstream?.terminate()
  }

  const listen = () => {
    listener = Bun.listen<Pair>({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(client) {
          const p: Pair = { client, upstream: null, toUpstream: [], toClient: [], closed: false }
          client.data = p
          pairs.add(p)
          if (stalled) return // accepted, never connected: the client waits for a handshake that never comes
          Bun.connect<Pair>({
            hostname: target.host,
            port: target.port,
            data: p,
            socket: {
              open(up) {
                if (p.closed) { up.terminate(); return }
                p.upstream = up
                send(up, p.toUpstream)
              },
              data(_up, d) { if (!stalled) send(p.client, p.toClient, d) },
              drain(up) { send(up, p.toUpstream) },
              close() { close(p) },
              error() { close(p) },
              connectError() { close(p) },
            },
          }).catch(() => close(p))
        },
        data(client, d) { if (!stalled) send(client.data.upstream, client.data.toUpstream, d) },
        drain(client) { send(client, client.data.toClient) },
        close(client) { close(client.data) },
        error(client) { close(client.data) },
      },
    })
    port = listener.port
  }

  listen()
  return {
    get port() { return port },
    get open() { return pairs.size },
    cut() {
      listener?.stop(true)
      listener = null
      for (const p of [...pairs]) close(p)
    },
    stall() { stalled = true },
    restore() {
      if (stalled) {
        stalled = false
        for (const p of [...pairs]) close(p)
      }
      if (!listener) listen()
    },
    stop() {
      listener?.stop(true)
      listener = null
      for (const p of [...pairs]) close(p)
    },
  }
}
