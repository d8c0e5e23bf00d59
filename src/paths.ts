// Where the project's files are, whether this module runs from src/ (vitest) or from build/src/ (node).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(start: string): string {
  let dir = start
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'idr') return dir
    const up = dirname(dir)
    if (up === dir) throw new Error(`idr: no package.json named "idr" above ${start}`)
    dir = up
  }
}

/** The package root (the folder holding idr's package.json). */
export const projectRoot = findRoot(dirname(fileURLToPath(import.meta.url)))

/** The compiled JavaScript twin of a source module under build/, e.g. builtFile('src/kernels/worker.js'). */
export function builtFile(relative: string): string {
  return join(projectRoot, 'build', relative)
}

/** The package version from package.json. */
export const version = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version
