// Ceiling (d): raw bcrypt throughput with Bun.password.hash (Bun's worker threads) at a given cost, with a given
// number of hashes in flight, for a fixed duration after a short warm-up. Pin it with taskset; prints one JSON line.
// Usage: bun bench/bcrypt.ts --cost 10 --concurrency 2 --seconds 10 [--warmup 1]
export {}

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const cost = arg('cost', 10), concurrency = arg('concurrency', 2), seconds = arg('seconds', 10), warmup = arg('warmup', 1)
const password = 'correct-horse-battery-staple'

async function run(ms: number): Promise<number> {
  const end = performance.now() + ms
  let n = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await Bun.password.hash(password, { algorithm: 'bcrypt', cost })
      n++
    }
  }))
  return n
}

await run(warmup * 1000)
const t0 = performance.now()
const hashes = await run(seconds * 1000)
const elapsed = (performance.now() - t0) / 1000
console.log(JSON.stringify({ cost, concurrency, hashes, seconds: elapsed, rate: hashes / elapsed }))
