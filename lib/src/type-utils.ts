/**
 * `T`, but not a place for TypeScript to infer `T` from: TypeScript 5.4's built-in NoInfer,
 * written for the 5.0 compiler that tslab type-checks notebook cells with.
 */
export type NoInfer<T> = [T][T extends unknown ? 0 : never];
