/* harness_artifacts - natlab merge carries each cell's logs and captures
 * into the merged run: the named directories whole, nothing outside logs/
 * and pcap/, no symlinks followed, each directory once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/artifacts.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *dir, const char *rel)
{
	static char buf[256];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_path_ok(void **state)
{
	assert_true(artifacts_path_ok("logs/a.t0/cell.log"));
	assert_true(artifacts_path_ok("pcap/a.t0/nat.pcap"));
	assert_false(artifacts_path_ok(NULL));
	assert_false(artifacts_path_ok("/etc/passwd"));
	assert_false(artifacts_path_ok("logs/../../etc/passwd"));
	assert_false(artifacts_path_ok("logs/a/./b"));
	assert_false(artifacts_path_ok("logs//b"));
	assert_false(artifacts_path_ok("logs/"));
	assert_false(artifacts_path_ok("logs/a/"));
	assert_false(artifacts_path_ok("report.html"));
	assert_false(artifacts_path_ok("logsx/a"));
}

static void test_carry(void **state)
{
	char from[] = "/tmp/natlab-art-from-XXXXXX", to[] = "/tmp/natlab-art-to-XXXXXX";
	char dir[256], link[256];
	struct natlab_err e = {""};
	struct artifacts_stats st = {0, 0, 0};
	json_t *done = json_object();
	json_t *cell;
	struct stat a, b;

	assert_non_null(mkdtemp(from));
	assert_non_null(mkdtemp(to));
	snprintf(dir, sizeof(dir), "%s/logs", from);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/logs/c.t0", from);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/pcap", from);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/pcap/c.t0", from);
	assert_int_equal(mkdir(dir, 0755), 0);
	put(from, "logs/c.t0/cell.log", "cell\n");
	put(from, "logs/c.t0/agent.log", "agent\n"); /* not named by the cell: comes along */
	put(from, "pcap/c.t0/a.pcap", "pcap\n");
	put(from, "secret", "secret\n");
	snprintf(link, sizeof(link), "%s/logs/c.t0/escape.log", from);
	assert_int_equal(symlink("../../secret", link), 0);
	cell = json_pack("{s:[s,s,s,s],s:[s]}", "logs", "logs/c.t0/cell.log", "../secret",
			 "/etc/passwd", "logs/gone.t0/cell.log", "pcaps", "pcap/c.t0/a.pcap");

	assert_int_equal(artifacts_carry(from, to, cell, done, &st, &e), 0);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.missing, 1);
	assert_string_equal(get(to, "logs/c.t0/cell.log"), "cell\n");
	assert_string_equal(get(to, "logs/c.t0/agent.log"), "agent\n");
	assert_string_equal(get(to, "pcap/c.t0/a.pcap"), "pcap\n");
	assert_null(get(to, "logs/c.t0/escape.log")); /* symlinks are not followed */
	assert_null(get(to, "secret"));
	/* same filesystem: a hard link, not a copy */
	snprintf(dir, sizeof(dir), "%s/logs/c.t0/cell.log", from);
	assert_int_equal(stat(dir, &a), 0);
	snprintf(dir, sizeof(dir), "%s/logs/c.t0/cell.log", to);
	assert_int_equal(stat(dir, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);

	/* a directory already carried in this merge is not carried again */
	memset(&st, 0, sizeof(st));
	assert_int_equal(artifacts_carry(from, to, cell, done, &st, &e), 0);
	assert_int_equal(st.files, 0);
	/* merging again into the same place: the files stay, nothing fails; a
	 * different file of the same name is replaced */
	json_decref(done);
	done = json_object();
	assert_int_equal(unlink(dir), 0);
	put(to, "logs/c.t0/cell.log", "stale\n");
	assert_int_equal(artifacts_carry(from, to, cell, done, &st, &e), 0);
	assert_int_equal(st.files, 3);
	assert_string_equal(get(to, "logs/c.t0/cell.log"), "cell\n");

	/* across filesystems (/dev/shm is a tmpfs of its own where there is
	 * one): a copy, byte for byte */
	{
		char shm[] = "/dev/shm/natlab-art-XXXXXX";
		struct stat t, m;

		if (stat("/dev/shm", &m) == 0 && stat(from, &t) == 0 && m.st_dev != t.st_dev &&
		    mkdtemp(shm)) {
			json_decref(done);
			done = json_object();
			memset(&st, 0, sizeof(st));
			assert_int_equal(artifacts_carry(from, shm, cell, done, &st, &e), 0);
			assert_int_equal(st.files, 3);
			assert_string_equal(get(shm, "pcap/c.t0/a.pcap"), "pcap\n");
			snprintf(dir, sizeof(dir), "%s/logs/c.t0/cell.log", shm);
			assert_int_equal(stat(dir, &b), 0);
			assert_true(b.st_dev != a.st_dev);
			rm_rf(shm);
		}
	}
	json_decref(cell);
	json_decref(done);
	rm_rf(from);
	rm_rf(to);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_ok),
	    cmocka_unit_test(test_carry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
