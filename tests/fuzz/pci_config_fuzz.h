/* What pci_config_fuzz.c counts over all inputs, for its seeded driver to check that the inputs
 * reached MSI-X (a driver that never enabled a vector would check nothing there). */
#ifndef DAXVM_TESTS_FUZZ_PCI_CONFIG_FUZZ_H
#define DAXVM_TESTS_FUZZ_PCI_CONFIG_FUZZ_H

#include <stdint.h>

struct pci_config_fuzz_msix {
	uint64_t enables;		/* MSI-X enables the mock saw succeed */
	uint64_t route_updates;		/* live entries rewritten */
	uint64_t errors;		/* msix_errors counted (bad addresses, MSI and MSI-X at once) */
	uint64_t pending_seen;		/* checks that found a pending bit in the PBA */
	unsigned live_max;		/* most vectors live at once */
};
extern struct pci_config_fuzz_msix pci_config_fuzz_msix;

#endif
