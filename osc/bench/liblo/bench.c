/*
 * bench.c: liblo's side of the decode + dispatch comparison with
 * github.com/cuelight/cuelight/osc (BenchmarkDecodeDispatch).
 *
 * The same workload on both sides: 45 station methods (5 channels x 8 verbs
 * and 5 show-wide addresses) and three packets, each dispatched N times:
 *
 *   cue-message  /cuelight/fly/go ,s "23"           (literal address)
 *   wildcard     /cuelight/asterisk/go ,s "23"      (pattern: 5 methods)
 *   bundle-10    #bundle, immediately, 10 x ,sf "23" 1.0
 *
 * Two liblo figures per packet, best of -r rounds, in ns per packet:
 *   dispatch     lo_server_dispatch_data(): liblo's whole receive path
 *                after the socket (deserialise, match every method, call
 *                the handler). This is what BenchmarkDecodeDispatch does.
 *   primitives   lo_message_deserialise() + lo_pattern_match() against
 *                every method + lo_message_free() (messages only).
 *
 * Build and run: cc -O2 -o bench bench.c -llo && ./bench [-n N] [-r rounds]
 * osc/bench/liblo/run.sh does both and runs the Go benchmark beside it.
 */
#include <lo/lo.h>
#include <lo/lo_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *channels[] = {"fly", "sl", "sr", "trap", "spot1"};
static const char *verbs[] = {"standby", "standby_ack", "go", "force_go", "off", "ack", "call", "brightness"};
static const char *global[] = {"/cuelight/ping", "/cuelight/sync", "/cuelight/heartbeat", "/cuelight/all/hold", "/cuelight/all/release"};

#define NMETHODS 45
static char methods[NMETHODS][64];
static volatile long delivered;

static int handler(const char *path, const char *types, lo_arg **argv, int argc, lo_message msg, void *user)
{
	(void)path; (void)types; (void)argv; (void)msg; (void)user;
	delivered += argc;
	return 0;
}

static void quiet(int num, const char *m, const char *path) { (void)num; (void)m; (void)path; }

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *serialise_msg(const char *path, size_t *size)
{
	lo_message m = lo_message_new();
	lo_message_add_string(m, "23");
	void *data = lo_message_serialise(m, path, NULL, size);
	lo_message_free(m);
	return data;
}

static void *serialise_bundle(size_t *size)
{
	lo_timetag now = LO_TT_IMMEDIATE;
	lo_bundle b = lo_bundle_new(now);
	for (int i = 0; i < 10; i++) {
		lo_message m = lo_message_new();
		lo_message_add_string(m, "23");
		lo_message_add_float(m, 1.0f);
		lo_bundle_add_message(b, methods[i * 4], m);
	}
	void *data = lo_bundle_serialise(b, NULL, size);
	lo_bundle_free_recursive(b);
	return data;
}

static double bench_dispatch(lo_server s, void *data, size_t size, long n)
{
	/* lo_server_dispatch_data deserialises into its own copy and leaves
	 * data as it was (checked once in main), so the same buffer is reused,
	 * as the Go benchmark reuses its. */
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (lo_server_dispatch_data(s, data, size) < 0) {
			fprintf(stderr, "dispatch failed\n");
			exit(1);
		}
	}
	return (now_ns() - t0) / n;
}

static double bench_primitives(void *data, size_t size, long n)
{
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		int res;
		lo_message m = lo_message_deserialise(data, size, &res);
		if (!m) {
			fprintf(stderr, "deserialise failed: %d\n", res);
			exit(1);
		}
		const char *path = (const char *)data; /* the address is the packet's first string */
		for (int k = 0; k < NMETHODS; k++)
			if (lo_pattern_match(methods[k], path))
				delivered += lo_message_get_argc(m);
		lo_message_free(m);
	}
	return (now_ns() - t0) / n;
}

int main(int argc, char **argv)
{
	long n = 200000;
	int rounds = 3, opt;
	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else {
			fprintf(stderr, "usage: %s [-n iterations] [-r rounds]\n", argv[0]);
			return 2;
		}
	}
	int k = 0;
	for (int c = 0; c < 5; c++)
		for (int v = 0; v < 8; v++)
			snprintf(methods[k++], sizeof methods[0], "/cuelight/%s/%s", channels[c], verbs[v]);
	for (int g = 0; g < 5; g++)
		snprintf(methods[k++], sizeof methods[0], "%s", global[g]);

	lo_server s = lo_server_new(NULL, quiet);
	if (!s) {
		fprintf(stderr, "lo_server_new failed\n");
		return 1;
	}
	for (k = 0; k < NMETHODS; k++)
		lo_server_add_method(s, methods[k], NULL, handler, NULL);

	struct { const char *name; void *data; size_t size; int is_msg; } cases[3];
	cases[0].name = "cue-message";
	cases[0].data = serialise_msg("/cuelight/fly/go", &cases[0].size);
	cases[0].is_msg = 1;
	cases[1].name = "wildcard";
	cases[1].data = serialise_msg("/cuelight/*/go", &cases[1].size);
	cases[1].is_msg = 1;
	cases[2].name = "bundle-10";
	cases[2].data = serialise_bundle(&cases[2].size);
	cases[2].is_msg = 0;

	/* Check the workload once: deliveries per packet, input untouched. */
	for (int c = 0; c < 3; c++) {
		void *orig = malloc(cases[c].size);
		memcpy(orig, cases[c].data, cases[c].size);
		delivered = 0;
		bench_dispatch(s, cases[c].data, cases[c].size, 1);
		if (memcmp(orig, cases[c].data, cases[c].size) != 0) {
			fprintf(stderr, "%s: lo_server_dispatch_data modified its input\n", cases[c].name);
			return 1;
		}
		free(orig);
		printf("# %s: %zu bytes, %ld argument(s) delivered per packet\n", cases[c].name, cases[c].size, delivered);
	}
	for (int c = 0; c < 3; c++) {
		double best = 1e18, bestp = 1e18;
		for (int r = 0; r < rounds; r++) {
			double t = bench_dispatch(s, cases[c].data, cases[c].size, n);
			if (t < best)
				best = t;
			if (cases[c].is_msg) {
				t = bench_primitives(cases[c].data, cases[c].size, n);
				if (t < bestp)
					bestp = t;
			}
		}
		printf("liblo dispatch %s %.1f ns/packet\n", cases[c].name, best);
		if (cases[c].is_msg)
			printf("liblo primitives %s %.1f ns/packet\n", cases[c].name, bestp);
	}
	lo_server_free(s);
	return 0;
}
