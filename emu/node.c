/* node.c - network namespaces held by descriptors; see node.h. */
#include "emu/node.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

struct emu_node {
	char name[EMU_NODE_NAME_MAX];
	int netns_fd;
	struct nl_sock *rtnl;
	char ext_ack[200]; /* the kernel's words with the last refusal on rtnl */
	unsigned flow_families; /* the flow tables emu_flow_watch made here */
};

static bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= EMU_NODE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		if (!ok)
			return false;
	}
	return true;
}

int emu_node_enter(const struct emu_node *n, int *saved, struct natlab_err *e)
{
	int cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (cur < 0)
		return natlab_err_set(
		    e, errno, "node %s: cannot open the current network namespace", n->name);
	if (setns(n->netns_fd, CLONE_NEWNET) < 0) {
		int err = errno;
		close(cur);
		return natlab_err_set(e, err, "node %s: cannot enter its network namespace",
				      n->name);
	}
	*saved = cur;
	return 0;
}

void emu_node_leave(int saved)
{
	if (saved < 0)
		return;
	/* Going back to a namespace we came from cannot fail for lack of
	 * privilege; if it fails anyway the thread is in the wrong namespace
	 * and every later call would act on the wrong node, so say it loudly. */
	if (setns(saved, CLONE_NEWNET) < 0)
		fprintf(stderr, "natlab: cannot return to the previous network namespace: %s\n",
			strerror(errno));
	close(saved);
}

static int loopback_up(struct emu_node *n, struct natlab_err *e)
{
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_link *lo = NULL;
	struct rtnl_link *change = NULL;
	int ret;

	if (!sk)
		return -EIO;
	ret = rtnl_link_get_kernel(sk, 0, "lo", &lo);
	if (ret < 0) {
		ret =
		    natlab_err_set(e, 0, "node %s: cannot find lo: %s", n->name, nl_geterror(ret));
		goto out;
	}
	change = rtnl_link_alloc();
	if (!change) {
		ret = natlab_err_set(e, ENOMEM, "node %s: lo", n->name);
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	ret = rtnl_link_change(sk, lo, change, 0);
	if (ret < 0)
		ret = natlab_err_set(e, 0, "node %s: cannot set lo up: %s", n->name,
				     emu_node_nl_error(n, ret, (char[256]){0}, 256));
out:
	rtnl_link_put(change);
	rtnl_link_put(lo);
	return ret;
}

/* Lab addresses are unique by construction: no IPv6 duplicate address
 * detection on the interfaces to come, so that their link-local addresses
 * (needed by neighbour discovery and routers) are usable at once instead of
 * "tentative" for a second or two. Called inside the new namespace. Best
 * effort: a kernel without IPv6 has no such keys. */
static void no_dad(void)
{
	static const char *const keys[] = {"/proc/sys/net/ipv6/conf/default/accept_dad",
					   "/proc/sys/net/ipv6/conf/all/accept_dad"};

	for (size_t i = 0; i < 2; i++) {
		int fd = open(keys[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "0", 1) != 1) {
			/* nothing to do: DAD stays on, links are usable later */
		}
		close(fd);
	}
}

int emu_node_new(const char *name, struct emu_node **out, struct natlab_err *e)
{
	struct emu_node *n;
	int saved = -1;
	int ret;

	*out = NULL;
	if (!name_ok(name))
		return natlab_err_msg(
		    e, EINVAL, "node name \"%s\" must be 1-%d characters of A-Z a-z 0-9 _ . -",
		    name, EMU_NODE_NAME_MAX - 1);
	n = calloc(1, sizeof(*n));
	if (!n)
		return natlab_err_set(e, ENOMEM, "node %s", name);
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->netns_fd = -1;

	saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		ret = natlab_err_set(e, errno, "node %s: cannot open the current network namespace",
				     name);
		goto fail;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		ret = natlab_err_set(e, errno, "node %s: cannot create a network namespace", name);
		goto fail;
	}
	n->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	no_dad();
	ret = n->netns_fd < 0 ? natlab_err_set(e, errno, "node %s: cannot hold its namespace", name)
			      : 0;
	emu_node_leave(saved);
	saved = -1;
	if (ret < 0)
		goto fail;
	ret = loopback_up(n, e);
	if (ret < 0)
		goto fail;
	*out = n;
	return 0;
fail:
	if (saved >= 0)
		emu_node_leave(saved);
	emu_node_free(n);
	return ret;
}

void emu_node_free(struct emu_node *n)
{
	if (!n)
		return;
	if (n->rtnl)
		nl_socket_free(n->rtnl);
	if (n->netns_fd >= 0)
		close(n->netns_fd);
	free(n);
}

const char *emu_node_name(const struct emu_node *n)
{
	return n->name;
}

int emu_node_netns_fd(const struct emu_node *n)
{
	return n->netns_fd;
}

/* libnl reports a refusal as an errno only: catch the NLMSGERR_ATTR_MSG
 * extended ack that came with it, then let libnl carry on as usual. */
static int ext_ack_cb(struct sockaddr_nl *who, struct nlmsgerr *err, void *arg)
{
	struct emu_node *n = arg;
	const struct nlmsghdr *hdr = (const struct nlmsghdr *)((const char *)err - NLMSG_HDRLEN);
	const char *end = (const char *)hdr + hdr->nlmsg_len;
	const char *p;

	n->ext_ack[0] = '\0';
	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* Without NETLINK_CAP_ACK the refused request follows the error. */
	p = (const char *)&err->msg +
	    NLMSG_ALIGN((hdr->nlmsg_flags & NLM_F_CAPPED) ? sizeof(err->msg) : err->msg.nlmsg_len);
	while (p + sizeof(struct nlattr) <= end) {
		const struct nlattr *a = (const struct nlattr *)p;
		if (a->nla_len < sizeof(*a) || p + a->nla_len > end)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > sizeof(*a))
			snprintf(n->ext_ack, sizeof(n->ext_ack), "%.*s",
				 (int)(a->nla_len - sizeof(*a)), (const char *)a + sizeof(*a));
		p += NLA_ALIGN(a->nla_len);
	}
	return NL_STOP;
}

const char *emu_node_ext_ack(struct emu_node *n, char *buf, size_t len)
{
	if (n->ext_ack[0])
		snprintf(buf, len, " (kernel: %s)", n->ext_ack);
	else if (len)
		buf[0] = '\0';
	n->ext_ack[0] = '\0';
	return buf;
}

const char *emu_node_nl_error(struct emu_node *n, int nlerr, char *buf, size_t len)
{
	char ack[sizeof(n->ext_ack) + 16];

	snprintf(buf, len, "%s%s", nl_geterror(nlerr), emu_node_ext_ack(n, ack, sizeof(ack)));
	return buf;
}

struct nl_sock *emu_node_rtnl(struct emu_node *n, struct natlab_err *e)
{
	struct nl_cb *cb;
	struct nl_sock *sk;
	int saved;
	int ret;

	if (n->rtnl)
		return n->rtnl;
	sk = nl_socket_alloc();
	if (!sk) {
		natlab_err_set(e, ENOMEM, "node %s: netlink socket", n->name);
		return NULL;
	}
	if (emu_node_enter(n, &saved, e) < 0) {
		nl_socket_free(sk);
		return NULL;
	}
	/* A netlink socket belongs to the namespace it was created in. */
	ret = nl_connect(sk, NETLINK_ROUTE);
	emu_node_leave(saved);
	if (ret < 0) {
		natlab_err_set(e, 0, "node %s: cannot open a route netlink socket: %s", n->name,
			       nl_geterror(ret));
		nl_socket_free(sk);
		return NULL;
	}
	/* Ask for the kernel's own words with every refusal. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &(int){1}, sizeof(int));
	cb = nl_socket_get_cb(sk);
	if (cb) {
		nl_cb_err(cb, NL_CB_CUSTOM, ext_ack_cb, n);
		nl_cb_put(cb);
	}
	n->rtnl = sk;
	return sk;
}

int emu_node_socket(const struct emu_node *n, int domain, int type, int protocol,
		    struct natlab_err *e)
{
	int saved;
	int fd;
	int ret = emu_node_enter(n, &saved, e);

	if (ret < 0)
		return ret;
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	ret = fd < 0 ? natlab_err_set(e, errno, "node %s: socket()", n->name) : fd;
	emu_node_leave(saved);
	return ret;
}

int emu_node_sysctl_set(const struct emu_node *n, const char *key, const char *value,
			struct natlab_err *e)
{
	char path[256];
	int saved;
	int fd;
	int ret;

	if (strstr(key, ".."))
		return natlab_err_msg(e, EINVAL, "node %s: bad sysctl key %s", n->name, key);
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	ret = emu_node_enter(n, &saved, e);
	if (ret < 0)
		return ret;
	/* /proc/sys/net shows the namespace of the task that opens it. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	emu_node_leave(saved);
	if (fd < 0)
		return natlab_err_set(e, errno, "node %s: cannot open sysctl %s", n->name, key);
	ret = 0;
	if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		ret = natlab_err_set(e, errno, "node %s: cannot set sysctl %s=%s", n->name, key,
				     value);
	close(fd);
	return ret;
}

static void child_fd(int from, int to, int flags)
{
	if (from < 0) {
		from = open("/dev/null", flags | O_CLOEXEC);
		if (from < 0)
			return;
	}
	if (from != to)
		dup2(from, to);
	else
		fcntl(to, F_SETFD, 0);
}

/* In the child: a mount namespace of its own whose /tmp is a fresh tmpfs.
 * Mounts stay out of the caller's namespace (MS_PRIVATE first: with shared
 * propagation the tmpfs would appear on the host's /tmp too). The tmpfs
 * is freed when the last process of that namespace exits. 0, or -1 with
 * errno set. */
/* The directory of @prog when it lives under /tmp (a wrapper a test or a
 * user made there: `mktemp -d` is the usual place), as an absolute path
 * into @dir; false otherwise. */
static bool tmp_dir_of(const char *prog, char *dir, size_t len)
{
	char cwd[PATH_MAX];
	char *slash;
	int n;

	if (!strchr(prog, '/'))
		return false; /* looked up in PATH */
	if (prog[0] == '/')
		n = snprintf(dir, len, "%s", prog);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(dir, len, "%s/%s", cwd, prog);
	else
		return false;
	if (n < 0 || (size_t)n >= len || strncmp(dir, "/tmp/", 5) != 0)
		return false;
	slash = strrchr(dir, '/');
	*slash = '\0';
	return true;
}

/* mkdir -p of @path (absolute) in the fresh tmpfs. */
static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int child_private_tmp(const char *prog)
{
	char dir[PATH_MAX], from[64];
	int keep = -1;

	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	/* a program under /tmp stays reachable: its directory is held open
	 * before the tmpfs hides it and bound back at the same path (only that
	 * directory: the rest of the host's /tmp stays out of sight) */
	if (tmp_dir_of(prog, dir, sizeof(dir)))
		keep = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mount("natlab-tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return -1;
	if (keep < 0)
		return 0;
	snprintf(from, sizeof(from), "/proc/self/fd/%d", keep);
	if (mkdir_p(dir) < 0 || mount(from, dir, NULL, MS_BIND, NULL) < 0)
		return -1;
	close(keep);
	return 0;
}

int emu_node_spawn(const struct emu_node *n, char *const argv[], const struct emu_spawn_opts *o,
		   pid_t *pid, struct natlab_err *e)
{
	struct emu_spawn_opts none = {-1, -1, -1, NULL, NULL, false};
	/* what the child reports when it cannot run: its errno, and the step
	 * (0: exec, 1: the private /tmp) */
	int child_err[2] = {0, 0};
	int pipefd[2];
	pid_t child;
	ssize_t got;

	if (!o)
		o = &none;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return natlab_err_set(e, errno, "node %s: pipe", n->name);
	child = fork();
	if (child < 0) {
		int err = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return natlab_err_set(e, err, "node %s: cannot fork for %s", n->name, argv[0]);
	}
	if (child == 0) {
		int err[2] = {0, 0};
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (setns(n->netns_fd, CLONE_NEWNET) < 0)
			goto fail;
		if (o->private_tmp && child_private_tmp(argv[0]) < 0) {
			err[1] = 1;
			goto fail;
		}
		child_fd(o->stdin_fd, 0, O_RDONLY);
		child_fd(o->stdout_fd, 1, O_WRONLY);
		child_fd(o->stderr_fd, 2, O_WRONLY);
		if (o->cwd && chdir(o->cwd) < 0)
			goto fail;
		if (o->envp)
			execvpe(argv[0], argv, o->envp);
		else
			execvp(argv[0], argv);
	fail:
		err[0] = errno;
		if (write(pipefd[1], err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pipefd[1]);
	/* Also set the group from the parent: whichever runs first wins, and
	 * the caller may signal the group as soon as we return. */
	setpgid(child, child);
	do {
		got = read(pipefd[0], child_err, sizeof(child_err));
	} while (got < 0 && errno == EINTR);
	close(pipefd[0]);
	if (got == (ssize_t)sizeof(child_err)) {
		int status;
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		if (child_err[1])
			return natlab_err_set(e, child_err[0],
					      "node %s: cannot give %s a private /tmp (a tmpfs in "
					      "a mount namespace of its own; needs CAP_SYS_ADMIN)",
					      n->name, argv[0]);
		return natlab_err_set(e, child_err[0], "node %s: cannot run %s", n->name, argv[0]);
	}
	*pid = child;
	return 0;
}

unsigned emu_node_flow_families(const struct emu_node *n)
{
	return n->flow_families;
}

void emu_node_add_flow_families(struct emu_node *n, unsigned families)
{
	n->flow_families |= families;
}
