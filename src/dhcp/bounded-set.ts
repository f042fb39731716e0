/**
 * @module dhcp/bounded-set
 * A set that forgets its oldest members past a capacity, so client-controlled keys (MACs)
 * cannot grow memory without bound (reliability D08, G7).
 */
export class BoundedSet<T> {
  private readonly items = new Set<T>();

  constructor(private readonly capacity: number) {}

  has(v: T): boolean {
    return this.items.has(v);
  }

  add(v: T): void {
    if (this.items.has(v)) return;
    if (this.items.size >= this.capacity) {
      const oldest = this.items.values().next();
      if (!oldest.done) this.items.delete(oldest.value);
    }
    this.items.add(v);
  }

  get size(): number {
    return this.items.size;
  }
}
