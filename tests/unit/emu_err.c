/* emu_err - what a user reads when a kernel call fails: the object, the
 * errno text, and a remedy for the errors whose remedy is generic. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "emu/err.h"

static void privileges_name_the_fix(void **state)
{
	struct natlab_err e = {""};

	(void)state;
	assert_int_equal(natlab_err_set(&e, EPERM, "node r1: add veth"), -EPERM);
	assert_non_null(
	    strstr(e.msg, "node r1: add veth: Operation not permitted (run natlab as root"));
}

static void caller_remedy_is_not_doubled(void **state)
{
	struct natlab_err e = {""};

	(void)state;
	natlab_err_set(&e, -EPERM, "cannot create namespaces; run natlab with sudo");
	assert_string_equal(
	    e.msg, "cannot create namespaces; run natlab with sudo: Operation not permitted");
}

static void other_errors_keep_the_bare_text(void **state)
{
	struct natlab_err e = {""};

	(void)state;
	natlab_err_set(&e, EINVAL, "nat r1: commit");
	assert_string_equal(e.msg, "nat r1: commit: Invalid argument");
	assert_int_equal(natlab_err_set(&e, 0, "no errno"), -EIO);
	assert_string_equal(e.msg, "no errno");
	natlab_err_set(&e, EMFILE, "open capture");
	assert_non_null(strstr(e.msg, "ulimit -n"));
}

/* An error natlab found itself (bad input, an unknown name) has no errno
 * text: natlab_err_msg keeps the message as written and still returns the
 * negative code. */
static void own_errors_have_no_errno_text(void **state)
{
	struct natlab_err e = {""};

	(void)state;
	assert_int_equal(natlab_err_msg(&e, ENOENT, "unknown NAT preset \"%s\"", "symetric"),
			 -ENOENT);
	assert_string_equal(e.msg, "unknown NAT preset \"symetric\"");
	assert_int_equal(natlab_err_msg(&e, -EMFILE, "capture: at most %d", 8), -EMFILE);
	assert_string_equal(e.msg, "capture: at most 8"); /* no "ulimit -n" remedy either */
	assert_int_equal(natlab_err_msg(&e, 0, "x"), -EIO);
	assert_int_equal(natlab_err_msg(NULL, EINVAL, "x"), -EINVAL);
}

static void long_messages_stay_terminated(void **state)
{
	struct natlab_err e;
	char big[2 * NATLAB_ERR_MAX];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	natlab_err_set(&e, EPERM, "%s", big);
	assert_int_equal(strlen(e.msg), NATLAB_ERR_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(privileges_name_the_fix),
	    cmocka_unit_test(caller_remedy_is_not_doubled),
	    cmocka_unit_test(other_errors_keep_the_bare_text),
	    cmocka_unit_test(own_errors_have_no_errno_text),
	    cmocka_unit_test(long_messages_stay_terminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
