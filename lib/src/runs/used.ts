/**
 * The runs this process has been given back by runAll (trained here or read from the store) since
 * the notebook's start cell, in first-use order. startNotebook resets the list, so a kernel that
 * ran the notebook in quick mode before does not carry those runs into a full-mode result. The
 * notebook's finish() writes the list beside its result, and `kdlab reference record` copies
 * exactly those runs, however many sittings ago they were trained.
 */
const used = new Set<string>();

export function noteRunUsed(key: string): void {
  used.add(key);
}

export function resetRunsUsed(): void {
  used.clear();
}

export function runsUsed(): string[] {
  return [...used];
}
