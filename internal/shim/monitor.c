//go:build cgo

// The shim's steady state without the Go runtime: see monitor.go for why and
// for the hand-over contract. Everything here is bounded: fixed buffers, a
// fixed number of connections, no allocation.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

// Same split as logger.JSONFile (Docker's 16 KiB).
#define MAX_LINE (16 * 1024)
// A stream buffer must hold one full window (MAX_LINE+1) plus room to read.
#define STREAM_BUF (2 * MAX_LINE)
// Worst case per input byte is six output bytes (\u00XX, \ufffd).
#define ENTRY_BUF (6 * MAX_LINE + 256)
#define MAX_CONNS 64
#define REQ_BUF 256
#define DRAIN_NS (5LL * 1000000000LL)

struct stream {
	int fd; // -1 at EOF
	const char *name;
	size_t n;
	unsigned char buf[STREAM_BUF];
};

struct conn {
	int fd; // -1: free slot
	int waiting;
	size_t n;
	char req[REQ_BUF];
};

static struct {
	pid_t pid;
	int pidfd, lnfd;
	const char *id, *state_dir, *log_path, *oom_files, *cgroups;
	long long max_size;
	int max_files;
	int logfd; // -1: discard (no log, or the log failed)
	int log_failed;
	long long log_size;
	int exited, done, code, oom;
	struct timespec exited_at;
	struct stream out, err;
	struct conn conns[MAX_CONNS];
	char entry[ENTRY_BUF];
} m;

static const char hex[] = "0123456789abcdef";

// utf8_len returns the length of the valid UTF-8 sequence at s (n bytes
// available, s[0] >= 0x80), or 0 when it is invalid or cut short. The
// accepted ranges are exactly those of Go's utf8.DecodeRune, so invalid
// bytes become U+FFFD one by one as they do in logger's encoder.
static size_t utf8_len(const unsigned char *s, size_t n) {
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t size;
	if (c >= 0xc2 && c <= 0xdf) {
		size = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		size = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		size = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < size || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < size; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return size;
}

size_t berth_json_string(char *dst, const unsigned char *s, size_t n) {
	char *b = dst;
	*b++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c >= 0x20 && c != '"' && c != '\\') {
				*b++ = (char)c;
			} else if (c == '"' || c == '\\') {
				*b++ = '\\';
				*b++ = (char)c;
			} else if (c == '\n') {
				*b++ = '\\';
				*b++ = 'n';
			} else if (c == '\r') {
				*b++ = '\\';
				*b++ = 'r';
			} else if (c == '\t') {
				*b++ = '\\';
				*b++ = 't';
			} else {
				memcpy(b, "\\u00", 4);
				b += 4;
				*b++ = hex[c >> 4];
				*b++ = hex[c & 0xf];
			}
			i++;
			continue;
		}
		size_t size = utf8_len(s + i, n - i);
		if (size == 0) {
			memcpy(b, "\\ufffd", 6);
			b += 6;
			i++;
			continue;
		}
		// U+2028/2029 are valid JSON but break JavaScript consumers.
		if (size == 3 && c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			memcpy(b, "\\u202", 5);
			b += 5;
			*b++ = s[i + 2] == 0xa8 ? '8' : '9';
			i += 3;
			continue;
		}
		memcpy(b, s + i, size);
		b += size;
		i += size;
	}
	*b++ = '"';
	return (size_t)(b - dst);
}

static int64_t now_ns(struct timespec *ts) {
	clock_gettime(CLOCK_REALTIME, ts);
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static int64_t mono_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// format_time writes logger's timeLayout in UTC: nine fractional digits.
static int format_time(char *dst, size_t cap, const struct timespec *ts) {
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	return snprintf(dst, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
			tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts->tv_nsec);
}

static int write_all(int fd, const char *b, size_t n, long long *written) {
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (written)
			*written += w;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void rotated_name(char *dst, size_t cap, int i) {
	if (i == 0)
		snprintf(dst, cap, "%s", m.log_path);
	else
		snprintf(dst, cap, "%s.%d", m.log_path, i);
}

// log_rotate mirrors logger.JSONFile.rotate.
static int log_rotate(void) {
	char from[4096 + 32], to[4096 + 32];
	struct stat st;
	if (m.logfd >= 0)
		close(m.logfd);
	m.logfd = -1;
	if (m.max_files < 2) {
		if (unlink(m.log_path) < 0 && errno != ENOENT)
			return -1;
	} else {
		int top = 1;
		while (top < m.max_files - 1) {
			rotated_name(from, sizeof from, top);
			if (lstat(from, &st) < 0)
				break;
			top++;
		}
		for (int i = top; i >= 1; i--) {
			rotated_name(from, sizeof from, i - 1);
			rotated_name(to, sizeof to, i);
			if (rename(from, to) < 0 && errno != ENOENT)
				return -1;
		}
	}
	m.logfd = open(m.log_path, O_CREAT | O_WRONLY | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
	if (m.logfd < 0) {
		m.log_failed = 1;
		return -1;
	}
	m.log_size = 0;
	return 0;
}

static void log_entry(const char *stream, const unsigned char *line, size_t n) {
	if (m.log_path == NULL || m.log_failed)
		return;
	char *b = m.entry;
	struct timespec ts;
	memcpy(b, "{\"log\":", 7);
	b += 7;
	b += berth_json_string(b, line, n);
	b += sprintf(b, ",\"stream\":\"%s\",\"time\":\"", stream);
	now_ns(&ts);
	b += format_time(b, 64, &ts);
	memcpy(b, "\"}\n", 3);
	b += 3;
	size_t len = (size_t)(b - m.entry);
	if (m.max_size > 0 && m.log_size > 0 && m.log_size + (long long)len > m.max_size) {
		if (log_rotate() < 0)
			return;
	}
	if (m.logfd >= 0)
		write_all(m.logfd, m.entry, len, &m.log_size);
}

// split_lines emits every complete line (or MAX_LINE piece) in s->buf, the
// way logger.JSONFile.Copy does, and keeps the rest.
static void split_lines(struct stream *s) {
	size_t start = 0;
	while (start < s->n) {
		size_t wl = s->n - start;
		if (wl > MAX_LINE + 1)
			wl = MAX_LINE + 1;
		unsigned char *nl = memchr(s->buf + start, '\n', wl);
		if (nl) {
			size_t len = (size_t)(nl - (s->buf + start)) + 1;
			log_entry(s->name, s->buf + start, len);
			start += len;
			continue;
		}
		if (wl == MAX_LINE + 1) {
			log_entry(s->name, s->buf + start, MAX_LINE);
			start += MAX_LINE;
			continue;
		}
		break;
	}
	memmove(s->buf, s->buf + start, s->n - start);
	s->n -= start;
}

static void stream_close(struct stream *s) {
	if (s->fd < 0)
		return;
	if (s->n > 0)
		log_entry(s->name, s->buf, s->n);
	s->n = 0;
	close(s->fd);
	s->fd = -1;
}

static void stream_read(struct stream *s) {
	ssize_t r = read(s->fd, s->buf + s->n, STREAM_BUF - s->n);
	if (r < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		stream_close(s);
		return;
	}
	if (r == 0) {
		stream_close(s);
		return;
	}
	s->n += (size_t)r;
	split_lines(s);
}

static void read_oom(void) {
	// Each line of oom_files is a cgroup file with an "oom_kill N" line; the
	// first that has one decides (memory.oom_control on v1, memory.events
	// on v2), as server.oomKilled does.
	const char *p = m.oom_files;
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char path[4096], buf[1024];
		if (len > 0 && len < sizeof path) {
			memcpy(path, p, len);
			path[len] = 0;
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				ssize_t n = read(fd, buf, sizeof buf - 1);
				close(fd);
				if (n > 0) {
					buf[n] = 0;
					for (char *l = buf; l && *l;) {
						if (strncmp(l, "oom_kill ", 9) == 0) {
							m.oom = atoll(l + 9) > 0;
							return;
						}
						l = strchr(l, '\n');
						if (l)
							l++;
					}
				}
			}
		}
		p = e ? e + 1 : NULL;
	}
}

static int exit_json(char *dst, size_t cap) {
	char t[64];
	format_time(t, sizeof t, &m.exited_at);
	return snprintf(dst, cap, "{\"code\":%d,\"oomKilled\":%s,\"exitedAt\":\"%s\"}", m.code,
			m.oom ? "true" : "false", t);
}

// write_exit records the exit atomically: temp file, fsync, rename, fsync
// the directory.
static void write_exit(void) {
	char tmp[4096], dst[4096], b[256];
	int n = exit_json(b, sizeof b);
	snprintf(tmp, sizeof tmp, "%s/.exit.json.tmpXXXXXX", m.state_dir);
	snprintf(dst, sizeof dst, "%s/exit.json", m.state_dir);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return;
	if (write_all(fd, b, (size_t)n, NULL) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, dst) < 0) {
		unlink(tmp);
		return;
	}
	int dfd = open(m.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

// rmdir_retry mirrors the cgroups package's RemovePath: sub-cgroups first,
// and EBUSY retried while the kernel finishes tearing the tasks down.
static int remove_cgroup(const char *path, int depth) {
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	if (depth < 8) {
		DIR *d = opendir(path);
		if (d == NULL)
			return errno == ENOENT ? 0 : -1;
		struct dirent *e;
		char sub[4096];
		while ((e = readdir(d)) != NULL) {
			if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < sizeof sub)
				remove_cgroup(sub, depth + 1);
		}
		closedir(d);
	}
	long delay = 1000000; // 1 ms, doubling: ~1 s in all
	for (int tries = 0;; tries++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EBUSY || tries >= 10)
			return -1;
		struct timespec ts = {delay / 1000000000L, delay % 1000000000L};
		nanosleep(&ts, NULL);
		delay *= 2;
	}
}

static void remove_cgroups(void) {
	// One line per hierarchy: the container's cgroup, then the parents the
	// container's start created, innermost first (tab-separated).
	const char *p = m.cgroups;
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char line[8192];
		if (len > 0 && len < sizeof line) {
			memcpy(line, p, len);
			line[len] = 0;
			char *save = NULL;
			int first = 1;
			for (char *dir = strtok_r(line, "\t", &save); dir; dir = strtok_r(NULL, "\t", &save)) {
				int rc = first ? remove_cgroup(dir, 0) : rmdir(dir);
				if (rc < 0 && !first)
					break;
				first = 0;
			}
		}
		p = e ? e + 1 : NULL;
	}
}

// remove_tree removes dir and everything under it (the small libcontainer
// state dir), never following symlinks.
static void remove_tree(int parent, const char *name, int depth) {
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return;
	if (depth < 8) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			DIR *d = fdopendir(fd);
			if (d) {
				struct dirent *e;
				while ((e = readdir(d)) != NULL) {
					if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
						remove_tree(dirfd(d), e->d_name, depth + 1);
				}
				closedir(d);
			} else {
				close(fd);
			}
		}
	}
	unlinkat(parent, name, AT_REMOVEDIR);
}

static void teardown(void) {
	remove_cgroups();
	int dfd = open(m.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		unlinkat(dfd, "config.json", 0);
		remove_tree(dfd, "runc", 0);
		// The socket path goes last so that a new shim can bind it at once.
		unlinkat(dfd, "shim.sock", 0);
		close(dfd);
	}
}

static void conn_close(struct conn *c) {
	close(c->fd);
	c->fd = -1;
	c->n = 0;
	c->waiting = 0;
}

static void conn_reply(struct conn *c, const char *b, size_t n) {
	// A reply is far smaller than a fresh socket's buffer: one write.
	ssize_t w;
	do {
		w = send(c->fd, b, n, MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	conn_close(c);
}

static void reply_exit(struct conn *c) {
	char b[320];
	int n = snprintf(b, sizeof b, "{\"exit\":");
	n += exit_json(b + n, sizeof b - (size_t)n);
	n += snprintf(b + n, sizeof b - (size_t)n, "}\n");
	conn_reply(c, b, (size_t)n);
}

static void reply_error(struct conn *c, const char *msg, const char *class) {
	char b[1024];
	size_t n = 0;
	memcpy(b, "{\"error\":", 9);
	n = 9;
	size_t ml = strlen(msg);
	if (ml > 128)
		ml = 128;
	n += berth_json_string(b + n, (const unsigned char *)msg, ml);
	n += (size_t)snprintf(b + n, sizeof b - n, ",\"class\":\"%s\"}\n", class);
	conn_reply(c, b, n);
}

// find_value returns the text after "key": in a request, skipping spaces
// ("signal" is also a value of "op", so look past matches without a colon).
static const char *find_value(const char *req, const char *key) {
	char k[32];
	snprintf(k, sizeof k, "\"%s\"", key);
	for (const char *p = strstr(req, k); p; p = strstr(p, k)) {
		p += strlen(k);
		while (*p == ' ')
			p++;
		if (*p != ':')
			continue;
		p++;
		while (*p == ' ')
			p++;
		return p;
	}
	return NULL;
}

// handle answers one request: the JSON line client.go sends,
// {"op":"pid"|"signal"|"wait","signal":N}.
static void handle(struct conn *c) {
	c->req[c->n] = 0;
	const char *op = find_value(c->req, "op");
	if (op == NULL || *op != '"') {
		conn_close(c);
		return;
	}
	op++;
	// The op ends at the first unescaped quote; unknown ops are echoed
	// still escaped, which reads as Go's %q for the usual cases.
	const char *end = op;
	while (*end && *end != '"')
		end += end[0] == '\\' && end[1] ? 2 : 1;
	if (*end != '"') {
		conn_close(c);
		return;
	}
	size_t oplen = (size_t)(end - op);
	char b[256];
	if (oplen == 3 && memcmp(op, "pid", 3) == 0) {
		int n = snprintf(b, sizeof b, "{\"pid\":%d}\n", (int)m.pid);
		conn_reply(c, b, (size_t)n);
	} else if (oplen == 6 && memcmp(op, "signal", 6) == 0) {
		const char *v = find_value(c->req, "signal");
		int sig = v ? atoi(v) : 0;
		if (m.exited) {
			snprintf(b, sizeof b, "container %s is not running", m.id);
			reply_error(c, b, "conflict");
		} else if (kill(m.pid, sig) < 0) {
			// The init is our unreaped child: its pid cannot be reused.
			snprintf(b, sizeof b, "unable to signal init: %s", strerror(errno));
			reply_error(c, b, "system");
		} else {
			conn_reply(c, "{}\n", 3);
		}
	} else if (oplen == 4 && memcmp(op, "wait", 4) == 0) {
		if (m.done)
			reply_exit(c);
		else
			c->waiting = 1;
	} else {
		char q[64];
		snprintf(q, sizeof q, "unknown request \"%.*s\"", (int)(oplen > 32 ? 32 : oplen), op);
		reply_error(c, q, "invalid");
	}
}

static void conn_read(struct conn *c) {
	if (c->waiting) {
		// A waiter sends nothing more; readable means it hung up.
		char tmp[64];
		ssize_t r = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	ssize_t r = recv(c->fd, c->req + c->n, REQ_BUF - 1 - c->n, MSG_DONTWAIT);
	if (r < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(c);
		return;
	}
	if (r == 0) {
		conn_close(c);
		return;
	}
	c->n += (size_t)r;
	if (memchr(c->req, '\n', c->n)) {
		handle(c);
	} else if (c->n >= REQ_BUF - 1) {
		conn_close(c);
	}
}

static void accept_conns(void) {
	for (int i = 0; i < MAX_CONNS; i++) {
		if (m.conns[i].fd >= 0)
			continue;
		int fd = accept4(m.lnfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		m.conns[i].fd = fd;
		m.conns[i].n = 0;
		m.conns[i].waiting = 0;
	}
}

static void reap(void) {
	int status;
	pid_t r;
	do {
		r = waitpid(m.pid, &status, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return;
	now_ns(&m.exited_at);
	if (r < 0)
		m.code = 255;
	else if (WIFSIGNALED(status))
		m.code = 128 + WTERMSIG(status);
	else
		m.code = WEXITSTATUS(status);
	m.exited = 1;
	close(m.pidfd);
	m.pidfd = -1;
	read_oom();
}

static int env_int(const char *s, char **end) {
	return (int)strtol(s, end, 10);
}

static int parse_env(void) {
	const char *v = getenv("_BERTH_SHIM_MONITOR");
	char *p;
	if (v == NULL)
		return -1;
	// pid,pidfd,stdout,stderr,listener,maxsize,maxfiles
	m.pid = env_int(v, &p);
	if (*p++ != ',')
		return -1;
	m.pidfd = env_int(p, &p);
	if (*p++ != ',')
		return -1;
	m.out.fd = env_int(p, &p);
	if (*p++ != ',')
		return -1;
	m.err.fd = env_int(p, &p);
	if (*p++ != ',')
		return -1;
	m.lnfd = env_int(p, &p);
	if (*p++ != ',')
		return -1;
	m.max_size = strtoll(p, &p, 10);
	if (*p++ != ',')
		return -1;
	m.max_files = env_int(p, &p);
	if (*p != 0 || m.pid <= 0 || m.pidfd < 0 || m.out.fd < 0 || m.err.fd < 0 || m.lnfd < 0)
		return -1;
	if (m.max_files < 1)
		m.max_files = 1;
	m.id = getenv("_BERTH_SHIM_ID");
	m.state_dir = getenv("_BERTH_SHIM_STATE");
	m.log_path = getenv("_BERTH_SHIM_LOG");
	m.oom_files = getenv("_BERTH_SHIM_OOM");
	m.cgroups = getenv("_BERTH_SHIM_CGROUPS");
	if (m.id == NULL || m.state_dir == NULL)
		return -1;
	if (m.log_path && *m.log_path == 0)
		m.log_path = NULL;
	return 0;
}

static void set_nonblock_cloexec(int fd) {
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int monitor(void) {
	m.out.name = "stdout";
	m.err.name = "stderr";
	for (int i = 0; i < MAX_CONNS; i++)
		m.conns[i].fd = -1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	set_nonblock_cloexec(m.out.fd);
	set_nonblock_cloexec(m.err.fd);
	set_nonblock_cloexec(m.lnfd);
	fcntl(m.pidfd, F_SETFD, FD_CLOEXEC);
	m.logfd = -1;
	if (m.log_path) {
		m.logfd = open(m.log_path, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0640);
		struct stat st;
		if (m.logfd < 0 || fstat(m.logfd, &st) < 0)
			m.log_failed = 1;
		else
			m.log_size = st.st_size;
	}

	struct pollfd pfd[4 + MAX_CONNS];
	int64_t drain_deadline = 0;
	for (;;) {
		if (m.exited && (m.out.fd < 0 && m.err.fd < 0))
			break;
		int timeout = -1;
		if (m.exited) {
			int64_t left = drain_deadline - mono_ns();
			if (left <= 0) {
				stream_close(&m.out);
				stream_close(&m.err);
				break;
			}
			timeout = (int)(left / 1000000) + 1;
		}
		int n = 0, conn_base;
		pfd[n++] = (struct pollfd){.fd = m.pidfd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = m.out.fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = m.err.fd, .events = POLLIN};
		int free_slot = 0;
		for (int i = 0; i < MAX_CONNS; i++)
			free_slot |= m.conns[i].fd < 0;
		// A full table leaves new clients in the listen backlog.
		pfd[n++] = (struct pollfd){.fd = free_slot ? m.lnfd : -1, .events = POLLIN};
		conn_base = n;
		for (int i = 0; i < MAX_CONNS; i++)
			pfd[n++] = (struct pollfd){.fd = m.conns[i].fd, .events = POLLIN};
		int r = poll(pfd, (nfds_t)n, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[0].revents) {
			reap();
			if (m.exited)
				drain_deadline = mono_ns() + DRAIN_NS;
		}
		if (pfd[1].revents)
			stream_read(&m.out);
		if (pfd[2].revents)
			stream_read(&m.err);
		for (int i = 0; i < MAX_CONNS; i++)
			if (m.conns[i].fd >= 0 && pfd[conn_base + i].revents)
				conn_read(&m.conns[i]);
		if (pfd[3].revents)
			accept_conns();
	}
	if (m.logfd >= 0)
		close(m.logfd);
	m.logfd = -1;

	write_exit();
	// Tear down before answering: the daemon may start the container again
	// (same ID, same state dir, same cgroup) as soon as Wait returns.
	teardown();
	m.done = 1;
	// Requests that arrived meanwhile are answered too.
	accept_conns();
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &m.conns[i];
		if (c->fd < 0)
			continue;
		if (!c->waiting) {
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			if (poll(&p, 1, 100) > 0)
				conn_read(c);
		}
		if (c->fd >= 0 && c->waiting)
			reply_exit(c);
		else if (c->fd >= 0)
			conn_close(c);
	}
	close(m.lnfd);
	return 0;
}

// The constructor runs before the Go runtime (like runc's nsenter): when
// the Go shim hands over (monitor.go), the Go runtime never starts. Any
// other berth process, or a hand-over it cannot parse, goes on into Go.
__attribute__((constructor)) static void berth_shim_monitor_init(void) {
	if (getenv("_BERTH_SHIM_MONITOR") == NULL || parse_env() < 0)
		return;
	_exit(monitor());
}
