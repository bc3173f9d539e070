/* SPDX-License-Identifier: MIT */
/*
 * Corpus replay for gcc builds of the fuzz targets (as systemd's fuzz-main.c): every file
 * given, and every regular file in every directory given, is fed to LLVMFuzzerTestOneInput
 * in name order. Exit 0 when all ran, 1 on read errors; a broken invariant aborts.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbco.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	char *buf;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		fprintf(stderr, "fuzz replay: cannot open '%s'\n", path);
		return -1;
	}
	r = sbco_read_fd(fd, 16u << 20, &buf, &len);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "fuzz replay: cannot read '%s'\n", path);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	return 0;
}

static int cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **ents;
		int m;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "fuzz replay: no such file '%s'\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			n++;
			continue;
		}
		m = scandir(argv[i], &ents, NULL, cmp);
		if (m < 0)
			return 1;
		for (int k = 0; k < m; k++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i], ents[k]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (run_file(path) < 0)
					return 1;
				n++;
			}
			free(ents[k]);
		}
		free(ents);
	}
	printf("fuzz replay: %d inputs ok\n", n);
	return 0;
}
