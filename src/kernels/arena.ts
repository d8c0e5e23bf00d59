// A bump allocator over a WebAssembly.Memory: the host owns the kernels' memory layout. Allocation is
// mark/release (stack-like), so a call frees everything it allocated with one store.
//
// Invariant: a memory.grow detaches the old ArrayBuffer, so typed views are made on demand by view()/ints()
// and must not be held across an alloc().

/** A byte offset into the arena's memory. */
export type Ptr = number

const PAGE = 65_536
const ALIGN = 16 // v128 loads

export class Arena {
  private top: number
  constructor(readonly memory: WebAssembly.Memory, readonly base: number) {
    this.top = align(base)
  }

  /** Reserves `count` f64 (or `count` i32 with bytesPer 4), 16-byte aligned; grows memory when needed. */
  alloc(count: number, bytesPer = 8): Ptr {
    const ptr = this.top
    const end = align(ptr + count * bytesPer)
    const have = this.memory.buffer.byteLength
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE))
    this.top = end
    return ptr
  }

  /** Copies `src` into a fresh allocation and returns its pointer. */
  put(src: Float64Array): Ptr {
    const ptr = this.alloc(src.length)
    this.view(ptr, src.length).set(src)
    return ptr
  }

  /** A Float64Array over `length` f64 at ptr (valid until the next alloc). */
  view(ptr: Ptr, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length)
  }

  /** An Int32Array over `length` i32 at ptr (valid until the next alloc). */
  ints(ptr: Ptr, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length)
  }

  /** A copy of `length` f64 at ptr that outlives the arena frame. */
  copy(ptr: Ptr, length: number): Float64Array {
    return this.view(ptr, length).slice()
  }

  /** Current top, to hand back to release(). */
  mark(): number {
    return this.top
  }

  /** Frees everything allocated since mark. */
  release(mark: number): void {
    this.top = mark
  }

  /** Runs fn inside an arena frame: whatever it allocates is released afterwards, also on a throw. */
  frame<T>(fn: () => T): T {
    const m = this.top
    try {
      return fn()
    } finally {
      this.top = m
    }
  }

  /** Bytes of linear memory currently reserved (the memory never shrinks). */
  get capacity(): number {
    return this.memory.buffer.byteLength
  }
}

function align(n: number): number {
  return (n + ALIGN - 1) & ~(ALIGN - 1)
}
