/* The contract between daxvm and the in-guest Linux tools (guest/linux/): the port I/O
 * registers the tools write and the one console line they print. Both sides include this
 * file; nothing here depends on the VMM or on libc beyond <stdint.h>. */
#ifndef DAXVM_GUEST_LINUX_ABI_H
#define DAXVM_GUEST_LINUX_ABI_H

#include <stdint.h>

/* Verdict port, the same place and width as QEMU's isa-debug-exit (iobase 0x501, iosize 4),
 * so the tools also run under QEMU for comparison. A 4-byte write ends the run:
 * value DAXVM_GUEST_PASS or a failure code below. (QEMU exits with (value << 1) | 1.) */
#define DAXVM_GUEST_EXIT_PORT		0x501
#define DAXVM_GUEST_PASS		0x00
#define DAXVM_GUEST_FAIL_MISMATCH	0x01	/* a pattern did not verify */
#define DAXVM_GUEST_FAIL_SETUP		0x02	/* the tool could not start (mount, mmap, mlock...) */
#define DAXVM_GUEST_FAIL_DEVICE		0x03	/* a device check failed (edu DMA, pmem I/O) */

/* Event ports: 4-byte writes, one port per meaning, outside every legacy ISA range daxvm
 * or QEMU's pc machine decodes (0x510-0x51f). Unknown ports are ignored by QEMU. */
#define DAXVM_GUEST_EVENT_PORT		0x510	/* value: one of DAXVM_GUEST_EVENT_* */
#define DAXVM_GUEST_PROGRESS_PORT	0x514	/* value: MiB verified so far, all threads (wraps) */
#define DAXVM_GUEST_EVENT_INIT		1	/* /init started (launch -> /init is timed here) */
#define DAXVM_GUEST_EVENT_RUNNING	2	/* the stress threads are running */
#define DAXVM_GUEST_EVENT_DONE		3	/* finished; the result line was printed */

/* The result line, printed once on the console (ttyS0) before the verdict write:
 *   DAXVM-GUEST-RESULT {"tool":"stress","verdict":"pass"|"fail","bytes_verified":N,
 *     "mismatches":N,"threads":N,"ram_bytes":N,"pmem_bytes":N,"pmem_device":"/dev/pmem0"|"",
 *     "seconds":F,"first_mismatch":"0x..."|""[, tool-specific keys]}
 * One line, JSON, at most DAXVM_GUEST_RESULT_MAX bytes including the prefix. */
#define DAXVM_GUEST_RESULT_PREFIX	"DAXVM-GUEST-RESULT "
#define DAXVM_GUEST_RESULT_MAX		1024

/* Parameters reach the tools on the kernel command line, without a dot (a dotted name is a
 * module parameter and never reaches init): daxvm_duration=SECONDS daxvm_threads=N
 * daxvm_ram_percent=P (share of MemAvailable to test) daxvm_pmem=/dev/pmem0|none.
 * The tools read /proc/cmdline; absent keys take the tool's defaults. */
#define DAXVM_GUEST_PARAM_DURATION	"daxvm_duration="
#define DAXVM_GUEST_PARAM_THREADS	"daxvm_threads="
#define DAXVM_GUEST_PARAM_RAM_PERCENT	"daxvm_ram_percent="
#define DAXVM_GUEST_PARAM_PMEM		"daxvm_pmem="

#endif
