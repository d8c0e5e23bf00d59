// Canary search for the no-raw-data-at-rest tests: the forms a planted raw IP or device id can take in bytes
// (UTF-8, an IP's binary and expanded forms), and the files and buffers they are searched in.
import { readdirSync, readFileSync } from 'node:fs'
import { isIPv4, isIPv6 } from 'node:net'
import { join } from 'node:path'

export interface Needle { readonly what: string, readonly bytes: Buffer }

/** The 16 network-order bytes of an IPv6 address (no embedded IPv4 form). */
function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail] = ip.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  const b = Buffer.alloc(16)
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i))
  return b
}

/** The binary form of an IP: 4 bytes (IPv4) or 16 (IPv6), network order. */
export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number))
  if (isIPv6(ip)) return ipv6Bytes(ip)
  throw new Error(`not an IP: ${ip}`)
}

/** UTF-8 of each device and IP; the 4- or 16-byte form of each IP and the fully expanded text of each IPv6. */
export function rawNeedles(devices: readonly string[], ips: readonly string[]): Needle[] {
  const out: Needle[] = devices.map((d) => ({ what: `device ${d}`, bytes: Buffer.from(d) }))
  for (const ip of ips) {
    out.push({ what: `ip ${ip}`, bytes: Buffer.from(ip) }, { what: `ip ${ip} (binary)`, bytes: ipBytes(ip) })
    if (isIPv6(ip)) out.push({ what: `ip ${ip} (expanded)`, bytes: Buffer.from(ipBytes(ip).toString('hex').replace(/(.{4})(?!$)/g, '$1:')) })
  }
  return out
}

export interface Artifact { readonly what: string, readonly bytes: Buffer }

/** "artifact: needle" for every needle found in an artifact. */
export function hits(artifacts: readonly Artifact[], needles: readonly Needle[]): string[] {
  const out: string[] = []
  for (const a of artifacts) for (const n of needles) if (a.bytes.includes(n.bytes)) out.push(`${a.what}: ${n.what}`)
  return out
}

/** The files of a run dir (database, -wal, -shm, log), read now. */
export function readRunFiles(dir: string, label: string): Artifact[] {
  return readdirSync(dir).sort().map((name) => ({ what: `${label} ${name}`, bytes: readFileSync(join(dir, name)) }))
}

/** Every regular file under dir, recursively. */
export function readTree(dir: string): Artifact[] {
  const out: Artifact[] = []
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push({ what: join(e.parentPath, e.name), bytes: readFileSync(join(e.parentPath, e.name)) })
  }
  return out
}

