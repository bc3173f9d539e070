/* SPDX-License-Identifier: MIT */
/*
 * Is the sbco kernel patch (kernel/) running? It exposes /proc/sbco/version (procfs, so it
 * works under kernel lockdown, where writable debugfs files are refused).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sbco.h"

int sbco_kpatch_detect(const char *root, char *ver, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root && strcmp(root, "/") ? root : "",
		 SBCO_KPATCH_VERSION_PATH);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(ver, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	ver[strcspn(ver, "\n")] = '\0';
	return 0;
}
