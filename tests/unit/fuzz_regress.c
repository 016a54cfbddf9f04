/* fuzz_regress - every libFuzzer target's entry point, without libFuzzer:
 * replays the committed regression inputs (<dir>/fuzz/regress/<target>/,
 * each an input that once crashed a target, kept so the bug stays fixed)
 * and the seed corpora (<dir>/fuzz/corpus/<target>/) through the same
 * LLVMFuzzerTestOneInput the fuzzers run. A target's own checks abort(),
 * which fails this test; under the sanitizer build ASan/UBSan catch what
 * libFuzzer would. Every target under <dir>/fuzz/ must be listed here, so
 * a new target cannot go unreplayed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each target file defines LLVMFuzzerTestOneInput (and declares it):
 * rename it per inclusion so all of them link into one test. */
#define LLVMFuzzerTestOneInput fuzz_agentproto
#include "agents/fuzz/agentproto.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ice_candidate
#include "agents/fuzz/ice_candidate.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ice_tcpframe
#include "agents/fuzz/ice_tcpframe.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_stun_decode
#include "agents/fuzz/stun_decode.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_stun_server
#include "agents/fuzz/stun_server.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_turn_server_seq
#include "agents/fuzz/turn_server_seq.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_turn_client_seq
#include "agents/fuzz/turn_client_seq.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ice_agent_seq
#include "agents/fuzz/ice_agent_seq.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_dcep
#include "agents/fuzz/dcep.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_portmap_decode
#include "agents/fuzz/portmap_decode.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_dut_dhcp
#include "harness/fuzz/dut_dhcp.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_harness_cells
#include "harness/fuzz/harness_cells.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_harness_params
#include "harness/fuzz/harness_params.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_harness_ladder
#include "harness/fuzz/harness_ladder.c"
#undef LLVMFuzzerTestOneInput

struct target {
	const char *dir; /* agents or harness */
	const char *name;
	int (*one)(const uint8_t *, size_t);
};

static const struct target targets[] = {
    {"agents", "agentproto", fuzz_agentproto},
    {"agents", "ice_candidate", fuzz_ice_candidate},
    {"agents", "ice_tcpframe", fuzz_ice_tcpframe},
    {"agents", "stun_decode", fuzz_stun_decode},
    {"agents", "stun_server", fuzz_stun_server},
    {"agents", "turn_server_seq", fuzz_turn_server_seq},
    {"agents", "turn_client_seq", fuzz_turn_client_seq},
    {"agents", "ice_agent_seq", fuzz_ice_agent_seq},
    {"agents", "dcep", fuzz_dcep},
    {"agents", "portmap_decode", fuzz_portmap_decode},
    {"harness", "dut_dhcp", fuzz_dut_dhcp},
    {"harness", "harness_cells", fuzz_harness_cells},
    {"harness", "harness_params", fuzz_harness_params},
    {"harness", "harness_ladder", fuzz_harness_ladder},
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static const struct target *target_find(const char *dir, const char *name)
{
	for (size_t i = 0; i < NTARGETS; i++)
		if (strcmp(targets[i].dir, dir) == 0 && strcmp(targets[i].name, name) == 0)
			return &targets[i];
	return NULL;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Replay every regular file of @sub/<target>/; returns how many. */
static int replay(const struct target *t, const char *sub)
{
	char dir[1024], path[2048];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s/fuzz/%s/%s", NATLAB_SOURCE_DIR, t->dir, sub, t->name);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		uint8_t *buf;
		size_t len = 0;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "README") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = slurp(path, &len);
		if (!buf)
			continue; /* a directory */
		print_message("replay %s\n", path);
		t->one(buf, len); /* a failed check aborts: the test fails here */
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void test_replay(void **state)
{
	(void)state;
	for (size_t i = 0; i < NTARGETS; i++) {
		int seeds = replay(&targets[i], "corpus");
		int regress = replay(&targets[i], "regress");

		print_message("%s/%s: %d seeds, %d regression inputs\n", targets[i].dir,
			      targets[i].name, seeds, regress);
		/* every target ships a seed corpus (docs/fuzzing.md) */
		assert_true(seeds > 0);
	}
}

/* A target that exists under <dir>/fuzz/ but is missing from the table
 * above would never be replayed: fail instead. */
static void test_every_target_listed(void **state)
{
	static const char *const dirs[] = {"agents", "harness"};
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char dir[1024];
		DIR *d;
		struct dirent *de;

		snprintf(dir, sizeof(dir), "%s/%s/fuzz", NATLAB_SOURCE_DIR, dirs[i]);
		d = opendir(dir);
		assert_non_null(d);
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			char name[256];

			if (l < 3 || l >= sizeof(name) || strcmp(de->d_name + l - 2, ".c") != 0)
				continue;
			memcpy(name, de->d_name, l - 2);
			name[l - 2] = '\0';
			if (!target_find(dirs[i], name))
				fail_msg(
				    "%s/fuzz/%s.c is not replayed by tests/unit/fuzz_regress.c",
				    dirs[i], name);
		}
		closedir(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay),
	    cmocka_unit_test(test_every_target_listed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
