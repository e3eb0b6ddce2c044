// TypeScript declarations of the shapes pregen-wasm hands to JS; appended to the generated pregen_wasm.d.ts.
// Field lists are checked against the Rust serialisation by `types::tests`.
/** An exam type's wire name. */
export type ExamType = "diagnostic" | "practice";
/** Where a job is in its life; the last three are final. */
export type JobState = "pending" | "running" | "retry_wait" | "succeeded" | "dead" | "cancelled";

/** Options of a JobTracker; every field is optional. Durations are milliseconds. */
export interface TrackerOptions {
  /** The route POSTed to with `{userId, examType}`; default "/api/pre-generate-exam". */
  endpoint?: string;
  /** Names the IndexedDB database of the jobs, the BroadcastChannel and the Web Locks; default "pregen:jobs". */
  storageKey?: string;
  /** The queue's numbers (pregen-core QueueOptions); the lease is the tracker's own. */
  queue?: QueueOptionsInput;
}

/** The queue numbers a page may set; omitted ones keep pregen-core's defaults. */
export interface QueueOptionsInput {
  retry?: Partial<RetryPolicy>;
  attemptTimeouts?: Partial<AttemptTimeouts>;
  retention?: Partial<Retention>;
}

/** Attempts and backoff: after attempt n fails, wait min(maxDelay, baseDelay * multiplier^(n-1)) * (1 - jitter + jitter * random). Defaults 3, 30000, 600000, 2, 0.5. */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelay: number;
  maxDelay: number;
  multiplier: number;
  jitter: number;
}

/** How long one attempt may run before it is aborted, per exam type; default 120000 each. */
export interface AttemptTimeouts {
  diagnostic: number;
  practice: number;
}

/** How long finished jobs are kept; defaults one day (succeeded), seven days (dead, cancelled). */
export interface Retention {
  succeeded: number;
  dead: number;
  cancelled: number;
}

/** One unfinished job in the old status shape, plus its id and state. */
export interface JobSummary {
  id: string;
  userId: string;
  examType: ExamType;
  state: JobState;
  /** Attempts used so far. */
  retries: number;
  /** Attempts allowed. */
  maxRetries: number;
  /** When the latest attempt started (ISO-8601); absent before the first. */
  lastAttempt?: string;
}

/** Jobs per state, finished ones included until retention purges them. */
export interface StateCounts {
  pending: number;
  running: number;
  retryWait: number;
  succeeded: number;
  dead: number;
  cancelled: number;
}

/** The old getJobQueueStatus() shape (the queue is the unfinished jobs), plus counts and the backlog age. */
export interface QueueStatus {
  queueLength: number;
  isProcessing: boolean;
  jobs: JobSummary[];
  counts: StateCounts;
  /** Milliseconds since the longest-waiting due job became due; 0 when none is. */
  oldestDueAgeMs: number;
}

/** Why an attempt failed, with a stable code ("route.server_error", "queue.timeout", ...). */
export interface JobError {
  code: string;
  message: string;
}

/** Who runs a job's attempt, until when. */
export interface Lease {
  holder: string;
  expiresAt: string;
}

/** A job as saved (times ISO-8601). */
export interface Job {
  id: string;
  userId: string;
  examType: ExamType;
  state: JobState;
  attempt: number;
  maxAttempts: number;
  /** Times a running attempt was handed back (a spent budget, a closed tab) without spending the attempt. */
  releases: number;
  /** Releases allowed before a further release spends the attempt. */
  maxReleases: number;
  runAt: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  deadline?: string;
  lease?: Lease;
  finishedAt?: string;
  /** Kept by a dead job: why it failed. */
  lastError?: JobError;
}

/** What an enqueue did for one (user, exam type). */
export interface Enqueued {
  jobId: string;
  userId: string;
  examType: ExamType;
  /** False when a job of that key was already queued or running. */
  created: boolean;
}

/** The Error a tracker call throws or rejects with; `code` is pregen-core's stable code. */
export interface PregenError extends Error {
  code: string;
}
