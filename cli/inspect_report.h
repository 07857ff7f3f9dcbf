/* The human summary of 'daxvm inspect', from its report. */
#ifndef DAXVM_CLI_INSPECT_REPORT_H
#define DAXVM_CLI_INSPECT_REPORT_H

#include <stdio.h>

#include "common/report.h"

void inspect_summary(const struct report *r, FILE *out);

#endif
