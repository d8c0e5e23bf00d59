// The slice of the WebAssembly JS API that idr uses. @types/node 20 does not declare it and lib "DOM"
// would bring browser globals into server code, so the few members are declared here.
declare namespace WebAssembly {
  interface MemoryDescriptor { initial: number, maximum?: number, shared?: boolean }
  class Memory {
    constructor(descriptor: MemoryDescriptor)
    readonly buffer: ArrayBuffer
    grow(delta: number): number
  }
  class Module {
    constructor(bytes: BufferSource)
  }
  type Exports = Record<string, unknown>
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>)
    readonly exports: Exports
  }
  type BufferSource = ArrayBufferView | ArrayBuffer
}
