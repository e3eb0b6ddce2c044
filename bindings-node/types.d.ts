/* The shapes the addon's promises resolve, key for key as pregen-core serializes them (seed-system.md's route
   bodies plus pregen's additions). Prepended to the generated index.d.ts by `napi build` (package.json
   napi.dtsHeaderFile). */

/** What `PreGen.open` takes; every option stands for an environment variable and wins over it. */
export interface PreGenOptions {
  /** A SQLite file path or a `postgres://` URL (`PREGEN_DB`, then `DATABASE_URL`; default `./pregen.db`). */
  database?: string
  /** `ANTHROPIC_API_KEY`; without one nothing is generated (reads, triggers and cleanup still work). */
  anthropicApiKey?: string
  /** `ANTHROPIC_BASE_URL`, e.g. a local simulator's. */
  anthropicBaseUrl?: string
  /** `CRON_SECRET`: the bearer secret of the cron and analytics routes; unset refuses every call. */
  cronSecret?: string
  /** `PREGEN_SCHEDULE`, a cron expression (UTC), default `0 *\/6 * * *`. */
  schedule?: string
  /** `PREGEN_SWEEP_MODE`. */
  sweepMode?: 'direct' | 'batch'
  /** `PREGEN_SWEEP_BUDGET_SECS`: seconds a direct sweep works (default 50). */
  sweepBudgetSecs?: number
  /** `PREGEN_SWEEP_CONCURRENCY`: jobs a sweep or a drain works at once (default 4). */
  sweepConcurrency?: number
  /** `PREGEN_CLEANUP_BATCH`: rows per cleanup statement (default 1000). */
  cleanupBatch?: number
  /** `PREGEN_MODEL`, for both exam types. */
  model?: string
  /** `PREGEN_MODEL_DIAGNOSTIC`. */
  diagnosticModel?: string
  /** `PREGEN_MODEL_PRACTICE`. */
  practiceModel?: string
  /** `PREGEN_STOCK_TARGET`: unused exams kept ready per user and type (default 1). */
  stockTarget?: number
  /** `PREGEN_WORKERS`: jobs the in-process pool runs at once (default 2). */
  workers?: number
  /** `PREGEN_STOCK`: each user's own exams, or a shared bank (default `per-user`). */
  stock?: 'per-user' | 'bank'
  /** `PREGEN_BANK_UNSEEN_TARGET`: unseen bank exams kept per active user and type (default 2). */
  bankUnseenTarget?: number
  /** `PREGEN_BANK_MIN_SIZE`: bank exams kept per type however few users there are (default 3). */
  bankMinSize?: number
  /** `PREGEN_BANK_MAX_ASSIGNMENTS`: assignments after which a bank exam retires (default 200). */
  bankMaxAssignments?: number
  /** `PREGEN_BANK_MAX_AGE_DAYS`: days after which a bank exam retires (default 30). */
  bankMaxAgeDays?: number
  /** Read no environment variable: only these options and the defaults. */
  ignoreEnv?: boolean
}

/** The `Error` every method throws or rejects with. */
export interface PreGenError extends Error {
  /** The core's stable code: `service.api_key_missing`, `claude.authentication`, `store.busy`, ... */
  code: string
  /** Whether the same call could succeed later. */
  retryable: boolean
}

export type ExamType = 'diagnostic' | 'practice'

/** One exam item, as the exam page reads it (unknown fields of older files are kept). */
export interface Question {
  id: number
  question: string
  options: string[]
  correct_answer: string
  explanation: string
  domain: string
  knId: string
  difficulty: string
  isScored: boolean
  type: string
  [extra: string]: unknown
}

export interface Exam {
  questions: Question[]
  [extra: string]: unknown
}

export type PreGenerated =
  | { success: true; message: 'Valid pre-gen already exists' }
  | { success: true; examId: string; questionCount: number }

export type GetExamBody =
  | { preGenerated: true; examId: string; questions: Exam; expiresAt: string }
  | { preGenerated: false; reason: 'No valid pre-generated exam' }

export interface TriggeredJob {
  examType: ExamType
  status: 'queued' | 'already_queued' | 'stocked'
  jobId?: string
}

export interface TriggerReport {
  success: true
  jobs: TriggeredJob[]
}

export interface CleanupResult {
  success: true
  deleted: number
  cleanup: { expiredDeleted: number; usedDeleted: number; batches: number }
  jobsDeleted: number
}

export interface StateCounts {
  pending: number
  running: number
  retryWait: number
  succeeded: number
  dead: number
  cancelled: number
}

export interface QueueStatus {
  queueLength: number
  isProcessing: boolean
  jobs: Array<{
    id: string
    userId: string
    examType: ExamType
    state: 'pending' | 'running' | 'retry_wait' | 'succeeded' | 'dead' | 'cancelled'
    retries: number
    maxRetries: number
    lastAttempt?: string
  }>
  counts: StateCounts
  oldestDueAgeMs: number
}

export interface QueueCleared {
  success: true
  cancelled: number
}

export interface ServiceAnalytics {
  totalGenerated: number
  totalUsed: number
  totalUnused: number
  totalExpired: number
  averageExamsPerUser: number
  diagnosticCount: number
  practiceCount: number
  usedPercentage: number
  expiringWithin24h: number
  userStats: { usersWithPreGen: number; usersWithoutPreGen: number; avgPreGenPerUser: number }
  timestamp: string
  generation: {
    requests: number
    inputTokens: number
    outputTokens: number
    cacheWriteTokens: number
    cacheReadTokens: number
    costUsd: number
    batchExams: number
    meanTriggerToReadyMs: number | null
    jobsSucceeded: number
    jobsDead: number
    getsServed: number
    getsMissed: number
  }
  generationSuccessRate: number | null
  meanTriggerToReadyMs: number | null
  getHitRate: number | null
  queue: StateCounts
}

export interface StoreFailure {
  code: string
  message: string
}

export interface DrainReport {
  claimed: number
  succeeded: number
  failed: number
  released: number
  leaseLost: number
  claimErrors: number
  storeFailed: number
  budgetSpent: boolean
  error?: StoreFailure
}

export interface ShutdownReport {
  succeeded: number
  failed: number
  released: number
  leaseLost: number
  storeFailed: number
}

export interface CronReport {
  usersProcessed: number
  generationTriggered: number
  generationErrors: number
  cleanupCompleted: number
  timestamp: string
  mode: 'direct' | 'batch'
  missing: number
  queued: number
  completed: number
  failed: number
  batchesSubmitted: number
  batchesCollected: number
  costUsd: number
  examsDeleted: number
  jobsDeleted: number
  budgetSpent: boolean
  storeFailures: number
  errors: Array<{ step: string; code: string; message: string; retryable: boolean }>
}

/** `{error}`, plus the stable `code` on a 500 (absent on 4xx and on `API key not configured`). */
export interface ErrorBody {
  error: string
  code?: string
}

/** A route helper's answer: `Response.json(r.body, { status: r.status })`. */
export interface RouteResponse<B> {
  status: number
  body: B
}

export type PreGenerateBody = PreGenerated | ErrorBody
export type GetBody = GetExamBody | { error: string; preGenerated: false }
export type CronBody =
  | { success: true; stats: CronReport }
  | { success: false; error: string; code: string; stats: CronReport }
  | ErrorBody
export type AnalyticsBody = { success: true; stats: ServiceAnalytics } | ErrorBody
export type TriggerBody = TriggerReport | ErrorBody
