/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_prog = "weft";
static enum log_level log_level = LOG_LVL_WARN;
static int log_file_fd = -1;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *prog)
{
	const char *lvl = getenv("WEFT_LOG_LEVEL");
	const char *file = getenv("WEFT_LOG_FILE");

	if (prog)
		log_prog = prog;
	for (unsigned i = 0; lvl && i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(lvl, level_names[i]) == 0)
			log_level = (enum log_level)i;
	if (file && *file && log_file_fd < 0)
		log_file_fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	if (lvl > log_level)
		return;
	n = snprintf(line, sizeof(line), "%s[%d]: %s: ", log_prog, (int)getpid(), level_names[lvl]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strnlen(line, sizeof(line) - 2);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nothing sensible to do: stderr is gone */
	}
	if (log_file_fd >= 0 && write(log_file_fd, line, (size_t)n) < 0) {
		/* same */
	}
}
