/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/cni-error.h"
#include "common/utf8.h"

static int err_ret(int sys_errno)
{
	return sys_errno > 0 ? -sys_errno : -EINVAL;
}

static void err_vset(struct cni_err *err, enum cni_code code, int sys_errno, const char *fmt,
		     va_list ap)
{
	err->code = code;
	err->sys_errno = sys_errno;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	err->details[0] = '\0';
	if (sys_errno > 0)
		snprintf(err->details, sizeof(err->details), "%s", strerror(sys_errno));
}

int cni_err_set(struct cni_err *err, enum cni_code code, int sys_errno, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return err_ret(sys_errno);
	va_start(ap, fmt);
	err_vset(err, code, sys_errno, fmt, ap);
	va_end(ap);
	return err_ret(sys_errno);
}

int cni_err_setd(struct cni_err *err, enum cni_code code, int sys_errno, const char *details,
		 const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return err_ret(sys_errno);
	va_start(ap, fmt);
	err_vset(err, code, sys_errno, fmt, ap);
	va_end(ap);
	if (details && *details)
		snprintf(err->details, sizeof(err->details), "%s", details);
	return err_ret(sys_errno);
}

int cni_err_wrap(struct cni_err *err, const char *fmt, ...)
{
	char buf[sizeof(err->msg)];
	size_t n;
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	/* "<context>: <old msg>", truncated to the buffer */
	if (err->msg[0] && n + 2 < sizeof(buf)) {
		memcpy(buf + n, ": ", 3);
		strncat(buf, err->msg, sizeof(buf) - n - 3);
	}
	memcpy(err->msg, buf, sizeof(buf));
	if (err->code == CNI_OK)
		err->code = CNI_ERR_INTERNAL;
	return err_ret(err->sys_errno);
}

void cni_err_add_details(struct cni_err *err, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (!err)
		return;
	len = strlen(err->details);
	if (len && len + 2 < sizeof(err->details)) {
		memcpy(err->details + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= sizeof(err->details))
		return;
	va_start(ap, fmt);
	vsnprintf(err->details + len, sizeof(err->details) - len, fmt, ap);
	va_end(ap);
}

void cni_err_clear(struct cni_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

/* A JSON string of text that may hold invalid UTF-8 (hostile input echoed, or a multibyte
 * character cut by a precision or the buffer size): each bad byte becomes '?'. */
static json_t *json_string_lossy(const char *text)
{
	char buf[1024];
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p && o + 5 < sizeof(buf);) {
		size_t n = utf8_seq_len(p);

		if (n == 0) {
			buf[o++] = '?';
			p++;
			continue;
		}
		memcpy(buf + o, p, n);
		o += n;
		p += n;
	}
	buf[o] = '\0';
	return json_string(buf);
}

int cni_err_write_json(const struct cni_err *err, const char *cni_version, FILE *out)
{
	_cleanup_json_ json_t *o = json_object();
	_cleanup_free_ char *s = NULL;

	if (!o)
		return -ENOMEM;
	if (cni_version && *cni_version)
		json_object_set_new(o, "cniVersion", json_string(cni_version));
	json_object_set_new(o, "code", json_integer(err->code ? err->code : CNI_ERR_INTERNAL));
	json_object_set_new(o, "msg", json_string_lossy(err->msg[0] ? err->msg : "unknown error"));
	if (err->details[0])
		json_object_set_new(o, "details", json_string_lossy(err->details));
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!s)
		return -ENOMEM;
	if (fprintf(out, "%s\n", s) < 0 || fflush(out) != 0)
		return -EIO;
	return 0;
}
