/* artifacts.c - carrying a cell's logs and captures between run directories. */
#include "harness/artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool artifacts_path_ok(const char *rel)
{
	const char *p = rel;

	if (!rel || (strncmp(rel, "logs/", 5) != 0 && strncmp(rel, "pcap/", 5) != 0))
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return p[-1] != '/';
}

/* mkdir -p of @rel (already checked) under @to. */
static int mkdirs(const char *to, const char *rel, struct natlab_err *e)
{
	char path[PATH_MAX];
	size_t base = (size_t)snprintf(path, sizeof(path), "%s/", to);

	if (base + strlen(rel) >= sizeof(path))
		return natlab_err_set(e, ENAMETOOLONG, "%s/%s", to, rel);
	strcpy(path + base, rel);
	for (char *s = path + base;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return natlab_err_set(e, errno, "cannot create %s", path);
			*s = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* A regular file's bytes from @src to @dst (created or truncated). */
static int copy_file(int srcfd, const char *dst, struct natlab_err *e)
{
	char buf[65536];
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	ssize_t n;
	int ret = 0;

	if (out < 0)
		return natlab_err_set(e, errno, "cannot create %s", dst);
	while ((n = read(srcfd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = natlab_err_set(e, errno, "cannot read the file for %s", dst);
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = natlab_err_set(e, errno, "cannot write %s", dst);
				goto out;
			}
			off += w;
		}
	}
out:
	if (close(out) < 0 && ret == 0)
		ret = natlab_err_set(e, errno, "cannot write %s", dst);
	return ret;
}

/* One file: a hard link when the filesystem allows, else a copy. A file
 * already there that is the same one (merging again into one place) stays;
 * another one is replaced. */
static int place(int dirfd, const char *name, const char *dst, struct natlab_err *e)
{
	struct stat ss, ds;
	int fd, ret;

	if (fstatat(dirfd, name, &ss, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(ss.st_mode))
		return 1; /* not a regular file: not an artifact (no symlinks out) */
	if (lstat(dst, &ds) == 0) {
		if (ds.st_dev == ss.st_dev && ds.st_ino == ss.st_ino)
			return 0;
		if (unlink(dst) < 0)
			return natlab_err_set(e, errno, "cannot replace %s", dst);
	}
	if (linkat(dirfd, name, AT_FDCWD, dst, 0) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EACCES)
		return natlab_err_set(e, errno, "cannot link %s", dst);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return natlab_err_set(e, errno, "cannot read the source of %s", dst);
	ret = copy_file(fd, dst, e);
	close(fd);
	return ret;
}

/* The regular files of directory @rel of @from into @to/@rel. */
static int carry_dir(const char *from, const char *to, const char *rel, struct artifacts_stats *st,
		     struct natlab_err *e)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/%s", from, rel);
	d = opendir(path);
	if (!d) {
		st->missing++;
		return 0;
	}
	ret = mkdirs(to, rel, e);
	while (ret == 0 && (de = readdir(d))) {
		char dst[PATH_MAX];
		int r;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(dst, sizeof(dst), "%s/%s/%s", to, rel, de->d_name) >=
		    sizeof(dst)) {
			ret = natlab_err_set(e, ENAMETOOLONG, "%s/%s/%s", to, rel, de->d_name);
			break;
		}
		r = place(dirfd(d), de->d_name, dst, e);
		if (r < 0)
			ret = r;
		else if (r == 0)
			st->files++;
	}
	closedir(d);
	return ret;
}

static int carry_list(const char *from, const char *to, const json_t *arr, json_t *done,
		      struct artifacts_stats *st, struct natlab_err *e)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		const char *rel = json_string_value(v);
		char dir[PATH_MAX];
		char *slash;
		int ret;

		if (!artifacts_path_ok(rel)) {
			st->refused++;
			continue;
		}
		snprintf(dir, sizeof(dir), "%s", rel);
		slash = strrchr(dir, '/'); /* there is one: "logs/" or "pcap/" */
		*slash = '\0';
		if (json_object_get(done, dir))
			continue;
		if (json_object_set_new(done, dir, json_true()) < 0)
			return natlab_err_set(e, ENOMEM, "merge");
		ret = carry_dir(from, to, dir, st, e);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int artifacts_carry(const char *from, const char *to, const json_t *cell, json_t *done,
		    struct artifacts_stats *st, struct natlab_err *e)
{
	int ret = carry_list(from, to, json_object_get(cell, "logs"), done, st, e);

	if (ret == 0)
		ret = carry_list(from, to, json_object_get(cell, "pcaps"), done, st, e);
	return ret;
}
