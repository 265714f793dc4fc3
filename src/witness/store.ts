/**
 * What a witness keeps: per log (origin), the latest checkpoint it cosigned
 * (c2sp.org/tlog-witness §add-checkpoint: "the witness is only required to keep track of
 * the latest checkpoint it observed and verified").
 */

/** The latest checkpoint cosigned for one origin. */
export interface WitnessEntry {
  readonly origin: string;
  /** Its tree size. */
  readonly size: number;
  /** Its RFC 6962 root hash, base64 (as the checkpoint writes it). */
  readonly root: string;
  /** The signed note: the checkpoint text, the log's signature line(s) and the witness's cosignature. */
  readonly checkpoint: string;
  /** When it was stored, ISO 8601. */
  readonly updatedAt: string;
}

/** A store's health, in the project's status vocabulary. */
export type WitnessStoreStatus = 'NOT_READY' | 'OK' | 'ERROR';

/**
 * The witness's state, behind one interface for the file and PostgreSQL backends. The one
 * write is a compare-and-set, so that checking the old size and persisting the new
 * checkpoint are atomic, as tlog-witness requires (the "rolling back K leaves" race).
 */
export interface WitnessStore {
  /** Connects or loads; idempotent. */
  start(): Promise<void>;
  /** The entry of `origin`, or undefined when none was ever cosigned. */
  get(origin: string): Promise<WitnessEntry | undefined>;
  /** Every entry whose origin starts with `prefix` (all when absent), by origin. */
  list(prefix?: string): Promise<WitnessEntry[]>;
  /**
   * Stores `entry` if the size stored for its origin is still `oldSize` (0 when there is
   * none), and answers whether it did. Persisted before it resolves true.
   */
  compareAndSet(oldSize: number, entry: WitnessEntry): Promise<boolean>;
  /** A cheap liveness check, for `/health`. */
  status(): Promise<{ status: WitnessStoreStatus; message?: string }>;
  /** Releases the file lock or the pool; idempotent. */
  stop(): Promise<void>;
}
