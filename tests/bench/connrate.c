/* SPDX-License-Identifier: Apache-2.0 */
/* Short TCP connections, one after the other (the bench's policy part: what a connection's
 * set-up costs on a path, SYN through the pod's policy chains and conntrack):
 *   connrate -s PORT            accept, write one byte, close (the server closes first, so the
 *                               TIME_WAIT is on the server's side and client ports never run out)
 *   connrate -c IP PORT SECS    connect, read to EOF, close, again, for SECS seconds; prints
 *                               "connections per second" and the number of failed attempts
 * IPv4 only; compiled by tests/bench/part-policy.sh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1024) < 0) {
		perror("connrate: listen");
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		if (write(c, "x", 1) < 0) {
			/* the client went away: nothing to do */
		}
		close(c);
	}
}

static int client(const char *ip, int port, double secs)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	unsigned long ok = 0, failed = 0;
	double t0 = now(), t;
	char b[16];

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "connrate: bad address %s\n", ip);
		return 2;
	}
	do {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
			while (read(s, b, sizeof(b)) > 0)
				;
			ok++;
		} else {
			failed++;
		}
		if (s >= 0)
			close(s);
		t = now();
	} while (t - t0 < secs);
	printf("%.1f %lu\n", (double)ok / (t - t0), failed);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-s") == 0)
		return serve(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "-c") == 0)
		return client(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: connrate -s PORT | -c IP PORT SECS\n");
	return 2;
}
