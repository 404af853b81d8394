/** A one-line progress bar on a TTY stream (redrawn in place); silent elsewhere. */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #total: number;
  readonly #label: string;
  #done = 0;
  #failed = 0;
  readonly enabled: boolean;

  constructor(stream: NodeJS.WriteStream, total: number, label: string) {
    this.#stream = stream;
    this.#total = total;
    this.#label = label;
    this.enabled = Boolean(stream.isTTY) && total > 1;
    this.#draw();
  }

  tick(failed = false): void {
    this.#done += 1;
    if (failed) this.#failed += 1;
    this.#draw();
  }

  #draw(): void {
    if (!this.enabled) return;
    const width = Math.max(10, Math.min(40, (this.#stream.columns ?? 80) - 40));
    const filled = Math.round((this.#done / this.#total) * width);
    const failed = this.#failed ? `, ${this.#failed} failed` : '';
    this.#stream.write(`\r\x1b[2K${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#done}/${this.#total}${failed}`);
  }

  finish(): void {
    if (this.enabled) this.#stream.write('\r\x1b[2K');
  }
}
