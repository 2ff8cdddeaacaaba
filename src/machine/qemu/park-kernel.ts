// The parking kernel: a 256-byte Multiboot image QEMU boots after SeaBIOS has set up PCI and
// ACPI. It silences the PIT, records the Multiboot info pointer and halts, so no disk is booted.
import type { QtestClient } from "./qtest-client.js";

/** Where QEMU's Multiboot loader puts the image (1 MiB, above the BIOS area). */
export const PARK_LOAD_ADDR = 0x100000;
/** The kernel writes PARK_MAGIC here last, after the Multiboot info pointer at +4. */
export const PARK_MARK_ADDR = PARK_LOAD_ADDR + 0xc0;
/** "PARK" as a little-endian dword. */
export const PARK_MAGIC = 0x4b524150;

const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** Bit 16: the load addresses in the header are valid (a flat, non-ELF image). */
const MULTIBOOT_AOUT_KLUDGE = 0x00010000;
const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
const IMAGE_SIZE = 0x100;
const ENTRY_OFFSET = 0x20;

/** Build the image handed to QEMU with -kernel. */
export function buildParkKernel(): Uint8Array {
  const img = new Uint8Array(IMAGE_SIZE);
  const v = new DataView(img.buffer);
  const end = PARK_LOAD_ADDR + IMAGE_SIZE;
  const header = [
    MULTIBOOT_HEADER_MAGIC,
    MULTIBOOT_AOUT_KLUDGE,
    -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_AOUT_KLUDGE) >>> 0,
    PARK_LOAD_ADDR, // header_addr: the header is the first thing in the image
    PARK_LOAD_ADDR, // load_addr
    end, // load_end_addr
    end, // bss_end_addr
    PARK_LOAD_ADDR + ENTRY_OFFSET, // entry_addr
  ];
  header.forEach((word, i) => v.setUint32(i * 4, word, true));

  // 32-bit protected mode, EAX = Multiboot magic, EBX = Multiboot info.
  const code: number[] = [];
  const dword = (x: number): void => {
    code.push(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff);
  };
  code.push(0x89, 0x1d); // mov [MARK+4], ebx
  dword(PARK_MARK_ADDR + 4);
  code.push(0xa3); // mov [MARK+8], eax
  dword(PARK_MARK_ADDR + 8);
  // SeaBIOS leaves PIT channel 0 ticking at 18.2 Hz, which would raise IRQ 0 forever. Mode 0
  // with a count of 1 raises OUT once and then holds it: no edges after we take the IOAPIC.
  code.push(0xb0, 0x30, 0xe6, 0x43); // mov al, 0x30 (ch 0, lo/hi byte, mode 0); out 0x43, al
  code.push(0xb0, 0x01, 0xe6, 0x40); // mov al, 1; out 0x40, al (count low byte)
  code.push(0xb0, 0x00, 0xe6, 0x40); // mov al, 0; out 0x40, al (count high byte)
  // Wait until OUT is high: read-back the status of counter 0, test its OUT bit.
  code.push(0xb0, 0xe2, 0xe6, 0x43); // mov al, 0xe2 (read-back status, counter 0); out 0x43, al
  code.push(0xe4, 0x40); // in al, 0x40
  code.push(0xa8, 0x80); // test al, 0x80
  code.push(0x74, 0xf6); // jz back to the read-back (-10)
  code.push(0xc7, 0x05); // mov dword [MARK], PARK_MAGIC
  dword(PARK_MARK_ADDR);
  dword(PARK_MAGIC);
  code.push(0xfa); // cli
  code.push(0xf4); // hlt
  code.push(0xeb, 0xfd); // jmp back to hlt
  if (ENTRY_OFFSET + code.length > PARK_MARK_ADDR - PARK_LOAD_ADDR)
    throw new Error("park kernel overflow");
  img.set(code, ENTRY_OFFSET);
  return img;
}

export interface ParkedState {
  /** Physical address of the Multiboot information structure. */
  readonly multibootInfo: number;
}

/** Non-blocking check: has the parking kernel run? */
export async function readParkedState(client: QtestClient): Promise<ParkedState | undefined> {
  const mark = await client.memread(PARK_MARK_ADDR, 12);
  const v = new DataView(mark.buffer, mark.byteOffset, mark.byteLength);
  if (v.getUint32(0, true) !== PARK_MAGIC) return undefined;
  if (v.getUint32(8, true) !== MULTIBOOT_BOOTLOADER_MAGIC) return undefined;
  return { multibootInfo: v.getUint32(4, true) };
}
