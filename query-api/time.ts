// Time parameters: the shared parser in schemas/time-expr.ts (the CLI uses the same one).
export { parseDurationMs, parseTime, timeRange, timeForms, timeParams, type RangeMessages } from '../schemas/time-expr.js'
