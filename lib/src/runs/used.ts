/**
 * The runs this process has been given back by runAll (trained here or read from the store), in
 * first-use order. A notebook's saveResult writes them beside its result, so `kdlab reference
 * record` copies exactly the runs the notebook used, however many sittings ago they were trained.
 */
const used = new Set<string>();

export function noteRunUsed(key: string): void {
  used.add(key);
}

export function runsUsed(): string[] {
  return [...used];
}
