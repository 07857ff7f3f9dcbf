/* The path backings (memory/backing_file.c); not a public interface. */
#ifndef DAXVM_MEMORY_BACKING_FILE_H
#define DAXVM_MEMORY_BACKING_FILE_H

#include "memory/backing.h"

/* A spec that is a path: devdax, hugetlbfs, tmpfs, or a refused page-cache file. */
int backing_open_path(const struct backing_request *req, struct backing *b, struct err *e);

#endif
