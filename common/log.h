/* SPDX-License-Identifier: Apache-2.0 */
/* Logging for main programs and plugins: stderr (and WEFT_LOG_FILE when set).
 * Library code (common/, ipam/) reports through struct cni_err and logs only at debug level. */
#ifndef WEFT_LOG_H
#define WEFT_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Reads WEFT_LOG_LEVEL (error|warn|info|debug, default warn) and WEFT_LOG_FILE. */
void log_init(const char *prog);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
