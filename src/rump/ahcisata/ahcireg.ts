// AHCI 1.3.1 register map: generic host control, port registers, their bits, and the layouts of
// the command list, received-FIS area and command table in memory.

// Generic host control (offsets in ABAR).
export const AHCI_CAP = 0x00;
export const AHCI_GHC = 0x04;
export const AHCI_IS = 0x08;
export const AHCI_PI = 0x0c;
export const AHCI_VS = 0x10;
export const AHCI_CAP2 = 0x24;

export const AHCI_CAP_NP = 0x1f; // number of ports - 1
export const AHCI_CAP_NCS_SHIFT = 8; // number of command slots - 1, 5 bits
export const AHCI_CAP_SCLO = 1 << 24;
export const AHCI_CAP_SAM = 1 << 18;
export const AHCI_CAP_SNCQ = 1 << 30;
export const AHCI_CAP_S64A = 1 << 31;

export const AHCI_GHC_HR = 1 << 0;
export const AHCI_GHC_IE = 1 << 1;
export const AHCI_GHC_AE = 1 << 31;

// Port registers: at 0x100 + port * 0x80.
export const AHCI_PORT_BASE = 0x100;
export const AHCI_PORT_SIZE = 0x80;
export const AHCI_P_CLB = 0x00;
export const AHCI_P_CLBU = 0x04;
export const AHCI_P_FB = 0x08;
export const AHCI_P_FBU = 0x0c;
export const AHCI_P_IS = 0x10;
export const AHCI_P_IE = 0x14;
export const AHCI_P_CMD = 0x18;
export const AHCI_P_TFD = 0x20;
export const AHCI_P_SIG = 0x24;
export const AHCI_P_SSTS = 0x28;
export const AHCI_P_SCTL = 0x2c;
export const AHCI_P_SERR = 0x30;
export const AHCI_P_SACT = 0x34;
export const AHCI_P_CI = 0x38;

export function portReg(port: number, reg: number): number {
  return AHCI_PORT_BASE + port * AHCI_PORT_SIZE + reg;
}

// PxIS / PxIE bits.
export const AHCI_P_IX_DHRS = 1 << 0; // D2H register FIS
export const AHCI_P_IX_PSS = 1 << 1; // PIO setup FIS
export const AHCI_P_IX_DSS = 1 << 2; // DMA setup FIS
export const AHCI_P_IX_SDBS = 1 << 3; // set device bits FIS
export const AHCI_P_IX_UFS = 1 << 4;
export const AHCI_P_IX_DPS = 1 << 5; // descriptor processed
export const AHCI_P_IX_PCS = 1 << 6; // port connect change
export const AHCI_P_IX_PRCS = 1 << 22; // PhyRdy change
export const AHCI_P_IX_OFS = 1 << 24; // overflow
export const AHCI_P_IX_INFS = 1 << 26;
export const AHCI_P_IX_IFS = 1 << 27; // interface fatal
export const AHCI_P_IX_HBDS = 1 << 28; // host bus data error
export const AHCI_P_IX_HBFS = 1 << 29; // host bus fatal
export const AHCI_P_IX_TFES = 1 << 30; // task file error
export const AHCI_P_IX_CPDS = 1 << 31;
/** Errors after which the port stops processing its command list. */
export const AHCI_P_IX_FATAL =
  AHCI_P_IX_TFES | AHCI_P_IX_HBFS | AHCI_P_IX_HBDS | AHCI_P_IX_IFS | AHCI_P_IX_OFS;
/** What the driver enables: completions and every error. */
export const AHCI_P_IE_DEFAULT =
  (AHCI_P_IX_DHRS |
    AHCI_P_IX_PSS |
    AHCI_P_IX_DSS |
    AHCI_P_IX_SDBS |
    AHCI_P_IX_UFS |
    AHCI_P_IX_DPS |
    AHCI_P_IX_PCS |
    AHCI_P_IX_PRCS |
    AHCI_P_IX_FATAL) >>>
  0;

// PxCMD bits.
export const AHCI_P_CMD_ST = 1 << 0;
export const AHCI_P_CMD_SUD = 1 << 1;
export const AHCI_P_CMD_POD = 1 << 2;
export const AHCI_P_CMD_CLO = 1 << 3;
export const AHCI_P_CMD_FRE = 1 << 4;
export const AHCI_P_CMD_CCS_SHIFT = 8;
export const AHCI_P_CMD_FR = 1 << 14;
export const AHCI_P_CMD_CR = 1 << 15;

// PxTFD.
export const AHCI_P_TFD_ST = 0xff;
export const AHCI_P_TFD_ERR_SHIFT = 8;

// PxSSTS / PxSCTL.
export const AHCI_P_SSTS_DET = 0xf;
export const AHCI_P_SSTS_DET_PRESENT = 0x3;
export const AHCI_P_SCTL_DET = 0xf;
export const AHCI_P_SCTL_DET_INIT = 0x1;
export const AHCI_P_SCTL_IPM_NONE = 0x300; // no partial/slumber transitions

// PxSIG values.
export const AHCI_SIG_ATA = 0x00000101;
export const AHCI_SIG_ATAPI = 0xeb140101;
export const AHCI_SIG_PM = 0x96690101;

// In memory: command header (32 bytes per slot in a 1 KiB list).
export const AHCI_CMDH_SIZE = 32;
export const AHCI_CMDH_CFL_MASK = 0x1f; // FIS length in dwords
export const AHCI_CMDH_A = 1 << 5; // ATAPI
export const AHCI_CMDH_W = 1 << 6; // write (host to device)
export const AHCI_CMDH_P = 1 << 7; // prefetchable
export const AHCI_CMDH_C = 1 << 10; // clear busy on R_OK
export const AHCI_CMDH_PRDTL_SHIFT = 16;

// Received-FIS area (256 bytes).
export const AHCI_RFIS_SIZE = 256;
export const AHCI_RFIS_D2H = 0x40;
export const AHCI_RFIS_SDB = 0x58;

// Command table: command FIS at 0, ATAPI command at 0x40, PRDT at 0x80.
export const AHCI_CMDTBL_CFIS = 0x00;
export const AHCI_CMDTBL_PRDT = 0x80;
export const AHCI_PRD_SIZE = 16;
/** A PRD's byte count field holds count-1 in 22 bits: at most 4 MiB, and even. */
export const AHCI_PRD_MAX_BYTES = 4 << 20;
export const AHCI_PRD_I = 1 << 31;
