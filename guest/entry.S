/* Built-in guest entry points: the image header, the CPL3 entry, and the ring-0
 * exception stubs. Every ring-0 instruction is emulated on kvm-pvm, so the handler only
 * reports the exception through the control device and halts. */
#include "guest/abi.h"

	.section .text.header, "ax"
	.globl guest_image_header
guest_image_header:
	.quad GUEST_IMAGE_MAGIC
	.quad guest_entry
	.quad guest_exc_stubs
	.quad 16
	.quad __guest_image_end

	.text
	.globl guest_entry
/* The VMM starts each vCPU here at CPL3: rdi = cpu index, rsp = top of its user stack. */
guest_entry:
	and $-16, %rsp
	call guest_main
1:	ud2
	jmp 1b

/* The hostile guest after an exception: the handler returns here at CPL3 with rdi = cpu index
 * and rsp = the top of that vCPU's user stack, as at guest_entry. */
	.globl guest_hostile_resume
guest_hostile_resume:
	and $-16, %rsp
	call guest_hostile_main
1:	ud2
	jmp 1b

/* One 16-byte stub per vector: push a zero error code where the CPU pushes none, then
 * the vector, and join the common handler. */
.macro EXC_STUB vec
	.balign 16
	.if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	pushq $\vec
	.else
	pushq $0
	pushq $\vec
	.endif
	jmp exc_common
.endm

	.balign 16
guest_exc_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC_STUB \v
	.endr

/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. The ring-0 stack page keeps this
 * vCPU's control-register base in its top slot (GUEST_KSTACK_CTL_SLOT). */
exc_common:
	mov %rsp, %rbx
	and $-4096, %rbx
	mov GUEST_KSTACK_CTL_SLOT(%rbx), %rbx
	mov 0(%rsp), %rax
	mov %rax, CTL_EXC_VECTOR(%rbx)
	mov 8(%rsp), %rax
	mov %rax, CTL_EXC_ERROR(%rbx)
	/* The hostile guest survives its own faults: report the vector and resume it. */
	testl $GUEST_F_HOSTILE, (GUEST_PARAMS_GPA + 12)	/* guest_params.flags */
	jnz hostile_resume
	mov %cr2, %rax
	mov %rax, CTL_EXC_CR2(%rbx)
	/* One line on the 8250 console (port I/O is allowed at CPL0). */
	lea exc_banner(%rip), %rsi
	mov $0x3f8, %dx
3:	lodsb
	test %al, %al
	jz 4f
	outb %al, %dx
	jmp 3b
4:	mov 16(%rsp), %rax
	mov %rax, CTL_EXC_RIP(%rbx)	/* the VMM stops this vCPU on this write */
2:	hlt
	jmp 2b

/* Frame after vector and error code: RIP, CS, RFLAGS, RSP, SS. Back to CPL3 at
 * guest_hostile_resume on a fresh user stack; the vCPU index comes from its control base. */
hostile_resume:
	mov 0(%rsp), %rax
	mov %rax, CTL_EXC_SURVIVED(%rbx)
	mov %rbx, %rdi
	movabs $GUEST_MMIO_CTL_GPA, %rax
	sub %rax, %rdi
	shr $8, %rdi				/* GUEST_CTL_STRIDE = 0x100 */
	mov %rdi, %rax
	shl $13, %rax				/* 2 * GUEST_STACK_BYTES per vCPU */
	add $(GUEST_STACKS_GPA + 2 * GUEST_STACK_BYTES), %rax
	mov %rax, 40(%rsp)			/* RSP: top of its user stack */
	lea guest_hostile_resume(%rip), %rax
	mov %rax, 16(%rsp)			/* RIP */
	add $16, %rsp
	iretq

	.section .rodata
exc_banner:
	.asciz "daxvm guest: ring-0 exception handler reporting to the VMM\n"

	.section .note.GNU-stack, "", @progbits
