/* SPDX-License-Identifier: MIT */
/*
 * Internal interface between the dump parser (dump.c) and the task-row reader (dump_row.c).
 */
#ifndef SBCO_DUMP_INTERNAL_H
#define SBCO_DUMP_INTERNAL_H

#include "sbco.h"

/* What a "runnable tasks:" header says about the rows below it. */
struct dump_table {
	int state_w;  /* 1: "R"/blank marker (< 4.14); 2: ">R" or " S" (4.14+) */
	int task_end; /* column just after "task" in the header: where comm ends */
	enum sbco_dump_layout hdr_layout; /* from the header words */
	enum sbco_dump_layout row_layout; /* from the last row read */
};

/* Read a table header line. Returns 0 or -EINVAL when it is not one sbco knows. */
int dump_table_header(struct dump_table *t, const char *l);

/* Read one row (the line may be modified). Returns 0 and fills *ret (except .cpu/.line),
 * -ENOENT when the line is not a task row at all (foreign text), or a negative code for
 * a row whose fields cannot be read (see dump_row_strerror()). */
int dump_row_parse(struct dump_table *t, char *l, struct sbco_task *ret);
const char *dump_row_strerror(int code);

#endif
