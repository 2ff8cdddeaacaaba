// ACPI fixed-hardware power management registers (ICH9 layout at PMBASE 0x600): PM1a event and
// control blocks and the 3.579545 MHz PM timer. Writing SLP_EN with the S5 type powers off.
import { dwordRegisters, type IoBus } from "./io-bus.js";

export const ACPI_PM_BASE = 0x600;
export const PM1A_EVT_BLK = ACPI_PM_BASE; // PM1_STS (2) + PM1_EN (2)
export const PM1A_CNT_BLK = ACPI_PM_BASE + 0x04;
export const PM_TMR_BLK = ACPI_PM_BASE + 0x08;
export const ACPI_PM_LENGTH = 0x0c;
/** SLP_TYP for S5 on ICH9, as published in the DSDT's \_S5 package. */
export const SLP_TYP_S5 = 7;
export const PM1_CNT_SCI_EN = 1 << 0;
export const PM1_CNT_SLP_EN = 1 << 13;
const PM_TIMER_HZ = 3_579_545;

export class AcpiPm {
  private pm1Status = 0;
  private pm1Enable = 0;
  /** ACPI mode is always on (the FADT's SMI_CMD is 0), so SCI_EN reads as 1. */
  private pm1Control = PM1_CNT_SCI_EN;
  private readonly epoch = process.hrtime.bigint();
  private off = false;

  constructor(private readonly onSleep: (slpTyp: number) => void) {}

  get poweredOff(): boolean {
    return this.off;
  }

  attach(io: IoBus): void {
    io.mapPorts(
      "acpi-pm",
      ACPI_PM_BASE,
      ACPI_PM_LENGTH,
      dwordRegisters(
        (off) => {
          if (off === 0) return (this.pm1Status | (this.pm1Enable << 16)) >>> 0;
          if (off === 4) return this.pm1Control;
          return this.timer();
        },
        (off, value, mask) => {
          if (off === 0) {
            // PM1_STS is write-one-to-clear, PM1_EN plain.
            this.pm1Status &= ~(value & mask & 0xffff);
            if (mask & 0xffff0000)
              this.pm1Enable = ((value & mask) >>> 16) | (this.pm1Enable & ~(mask >>> 16));
          } else if (off === 4) {
            const v = (this.pm1Control & ~mask) | (value & mask);
            this.pm1Control = (v & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
            if (v & PM1_CNT_SLP_EN) {
              const typ = (v >> 10) & 7;
              if (typ === SLP_TYP_S5) this.off = true;
              this.onSleep(typ);
            }
          }
        },
      ),
    );
  }

  /** 24-bit PM timer value. */
  timer(): number {
    const ns = process.hrtime.bigint() - this.epoch;
    return Number((ns * BigInt(PM_TIMER_HZ)) / 1_000_000_000n) & 0xffffff;
  }
}
