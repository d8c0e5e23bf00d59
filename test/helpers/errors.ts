// Asserting typed errors by their stable code, not their wording.
import { expect } from 'vitest'
import { IdrError } from '../../src/errors.js'

/** Runs fn, expects it to throw an instance of errorClass (default IdrError), and returns the error's code. */
export function errorCode(fn: () => unknown, errorClass: abstract new (...args: never[]) => IdrError = IdrError): string {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(errorClass)
    return (e as IdrError).code
  }
  throw new Error(`expected a ${errorClass.name}, got a result`)
}
