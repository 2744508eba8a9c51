/**
 * Lengths of uploads the owner table does not know (uploads made before tusgate), learned from
 * the backend's HEAD answers: a client resuming an upload asks HEAD first, so the PATCH that ends
 * it can be seen to. One process's memory, bounded; the oldest entries go first.
 */
export class LearnedLengths {
  readonly #lengths = new Map<string, number>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  get(id: string): number | undefined {
    return this.#lengths.get(id);
  }

  set(id: string, length: number): void {
    this.#lengths.delete(id);
    this.#lengths.set(id, length);
    if (this.#lengths.size > this.#max) {
      this.#lengths.delete(this.#lengths.keys().next().value as string);
    }
  }

  delete(id: string): void {
    this.#lengths.delete(id);
  }
}
