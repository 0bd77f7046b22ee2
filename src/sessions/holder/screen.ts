/**
 * A held terminal's screen (docs/PROTOCOL.sessions §5): every byte the program writes is fed to a headless
 * terminal emulator, so a client that reattaches without offsets (another client, or a stock ssh) can be
 * shown the current screen and its scrollback as escape sequences that redraw them, cursor included.
 */
import xtermHeadless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';

const { Terminal } = xtermHeadless;
const { SerializeAddon } = serializeAddon;

/** Lines of scrollback the emulator keeps (and a redraw replays into the client's own scrollback). */
export const SCREEN_SCROLLBACK_LINES = 1000;
const MAX_DIMENSION = 4096;

/**
 * Sent before the serialized screen: reset attributes, cursor home, erase the display, because the
 * serialization assumes an empty terminal with the cursor at the top left.
 */
const REDRAW_PREFIX = '\x1b[0m\x1b[H\x1b[2J';

function dimension(value: number, fallback: number): number {
  return Number.isInteger(value) && value > 0 ? Math.min(value, MAX_DIMENSION) : fallback;
}

export class HeldScreen {
  private readonly terminal: InstanceType<typeof Terminal>;
  private readonly serializer: InstanceType<typeof SerializeAddon>;
  private disposed = false;

  constructor(columns: number, rows: number, scrollback = SCREEN_SCROLLBACK_LINES) {
    this.terminal = new Terminal({ cols: dimension(columns, 80), rows: dimension(rows, 24), scrollback, allowProposedApi: true });
    this.serializer = new SerializeAddon();
    this.terminal.loadAddon(this.serializer);
  }

  get columns(): number {
    return this.terminal.cols;
  }

  get rows(): number {
    return this.terminal.rows;
  }

  /** Queues the program's output; the emulator parses it in order, asynchronously. */
  write(data: Buffer): void {
    if (!this.disposed) this.terminal.write(new Uint8Array(data));
  }

  resize(columns: number, rows: number): void {
    if (this.disposed) return;
    this.terminal.resize(dimension(columns, this.terminal.cols), dimension(rows, this.terminal.rows));
  }

  /**
   * The redraw of the screen as it is after everything written so far: the emulator's write queue runs
   * callbacks in order, so this one sees exactly the output queued before it.
   */
  redraw(): Promise<Buffer> {
    if (this.disposed) return Promise.resolve(Buffer.alloc(0));
    return new Promise((resolve) => {
      this.terminal.write('', () => {
        resolve(Buffer.from(REDRAW_PREFIX + this.serializer.serialize({ scrollback: SCREEN_SCROLLBACK_LINES }), 'utf8'));
      });
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.terminal.dispose();
  }
}
