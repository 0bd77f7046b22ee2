/**
 * OpenSSH's progress meter (progressmeter.c), as sftp and scp draw it: one line rewritten in place with
 * `\r`, the file name padded to the terminal's width less 36 columns, then percent, bytes so far, a rate
 * smoothed over the updates (each new reading weighs 10%), and the time left, or the total time once done.
 * The line is redrawn once a second and when the terminal is resized; it goes to stdout, as OpenSSH's does
 * (the callers decide whether to show it at all: sftp when stderr is a terminal, scp when stdout is).
 */
import type { WriteStream } from 'node:tty';

const DEFAULT_WIDTH = 80;
const MAX_WIDTH = 512;
const UPDATE_INTERVAL_MS = 1000;
/** Seconds without progress after which the ETA reads "- stalled -". */
const STALL_SECONDS = 5;
const UNITS = ' KMGT';

/** progressmeter.c format_size: four digits at most, scaled by 1024 with rounding. */
export function formatSize(bytes: number): string {
  let value = Math.floor(bytes);
  let unit = 0;
  while (value >= 10000 && UNITS[unit] !== 'T') {
    value = Math.floor((value + 512) / 1024);
    unit++;
  }
  return `${String(value).padStart(4)}${UNITS[unit]}${unit ? 'B' : ' '}`;
}

/** progressmeter.c format_rate: one decimal, never below KB. */
export function formatRate(bytesPerSecond: number): string {
  let value = Math.floor(bytesPerSecond) * 100;
  let unit = 0;
  while (value >= 100 * 1000 && UNITS[unit] !== 'T') {
    value = Math.floor((value + 512) / 1024);
    unit++;
  }
  if (unit === 0) {
    unit++;
    value = Math.floor((value + 512) / 1024);
  }
  const whole = Math.floor((value + 5) / 100);
  const tenth = Math.floor((value + 5) / 10) % 10;
  return `${String(whole).padStart(3)}.${tenth}${UNITS[unit]}${unit ? 'B' : ' '}`;
}

/** The file name as OpenSSH's snmprintf shows it: control characters as \ooo, cut or padded to `width`. */
function fitName(name: string, width: number): string {
  const safe = [...name].map((char) => {
    const code = char.codePointAt(0)!;
    return code < 0x20 || code === 0x7f ? `\\${code.toString(8).padStart(3, '0')}` : char;
  }).join('');
  const chars = [...safe];
  return chars.length >= width ? chars.slice(0, width).join('') : safe + ' '.repeat(width - chars.length);
}

function two(value: number): string {
  return String(value).padStart(2, '0');
}

export interface ProgressMeterOptions {
  /** Where the line goes; stdout unless told. */
  output?: Pick<WriteStream, 'write' | 'columns' | 'on' | 'off'>;
  /** The clock, in seconds (tests); performance.now() unless told. */
  now?: () => number;
}

/** One file's meter. `position()` reads how far the transfer has got (bytes, counting from 0). */
export class ProgressMeter {
  private readonly file: string;
  private readonly endPosition: number;
  private readonly position: () => number;
  private readonly output: NonNullable<ProgressMeterOptions['output']>;
  private readonly now: () => number;
  private readonly start: number;
  private readonly startPosition: number;
  private lastUpdate: number;
  private currentPosition = 0;
  private bytesPerSecond = 0;
  private stalled = 0;
  private width = DEFAULT_WIDTH + 1;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly onResize = () => this.refresh();

  constructor(file: string, size: number, position: () => number, options: ProgressMeterOptions = {}) {
    this.file = file;
    this.endPosition = size;
    this.position = position;
    this.output = options.output ?? process.stdout;
    this.now = options.now ?? (() => performance.now() / 1000);
    this.start = this.lastUpdate = this.now();
    this.startPosition = position();
    this.refresh();
    this.timer = setInterval(() => this.refresh(), UPDATE_INTERVAL_MS);
    this.timer.unref();
    this.output.on('resize', this.onResize);
  }

  /** Draws the final state (if the last refresh did not) and ends the line. */
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.output.off('resize', this.onResize);
    if (this.currentPosition !== this.endPosition) this.refresh();
    this.output.write('\n');
  }

  /** progressmeter.c refresh_progress_meter: one redraw. */
  refresh(): void {
    const columns = this.output.columns;
    this.width = Math.min(columns && columns > 0 ? columns : DEFAULT_WIDTH, MAX_WIDTH) + 1;
    const position = this.position();
    let transferred = position - (this.currentPosition ? this.currentPosition : this.startPosition);
    this.currentPosition = position;
    const now = this.now();
    const bytesLeft = this.endPosition - position;
    let elapsed: number;
    if (bytesLeft > 0) {
      elapsed = now - this.lastUpdate;
    } else {
      // Done: the rate shown is the true average over the whole transfer.
      elapsed = now - this.start;
      transferred = this.endPosition - this.startPosition;
      this.bytesPerSecond = 0;
    }
    const currentSpeed = Math.trunc(elapsed !== 0 ? transferred / elapsed : transferred);
    this.bytesPerSecond = this.bytesPerSecond !== 0 ? Math.trunc(this.bytesPerSecond * 0.9 + currentSpeed * 0.1) : currentSpeed;

    let line = '';
    const nameWidth = this.width - 36;
    if (nameWidth > 0) line = `\r${fitName(this.file, nameWidth)}`;
    const percent = this.endPosition === 0 || position === this.endPosition ? 100 : Math.trunc((position / this.endPosition) * 100);
    line += ` ${String(percent).padStart(3)}% ${formatSize(position)} ${formatRate(this.bytesPerSecond)}/s `;

    this.stalled = transferred ? 0 : this.stalled + elapsed;
    if (this.stalled >= STALL_SECONDS) {
      line += '- stalled -';
    } else if (this.bytesPerSecond === 0 && bytesLeft) {
      line += '  --:-- ETA';
    } else {
      let seconds = Math.trunc(bytesLeft > 0 ? bytesLeft / this.bytesPerSecond : elapsed);
      const hours = Math.trunc(seconds / 3600);
      seconds -= hours * 3600;
      const minutes = Math.trunc(seconds / 60);
      seconds -= minutes * 60;
      line += hours !== 0 ? `${hours}:${two(minutes)}:${two(seconds)}` : `  ${two(minutes)}:${two(seconds)}`;
      line += bytesLeft > 0 ? ' ETA' : '    ';
    }
    // OpenSSH writes exactly the terminal's width (the buffer holds width + 1 with its NUL).
    const visible = this.width - 1;
    this.output.write(line.length >= visible ? line.slice(0, visible) : line.padEnd(visible));
    this.lastUpdate = now;
  }
}

/** The name a meter shows for a path: its last component, or the whole path when that is empty. */
export function progressName(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash < 0 || slash === path.length - 1) return path;
  return path.slice(slash + 1);
}
