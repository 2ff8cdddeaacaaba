// ATA (ACS) facts the AHCI driver needs: command opcodes, status and error bits, the device
// register's LBA bit, and the IDENTIFY DEVICE words it reads.

export const ATA_CMD_READ_DMA_EXT = 0x25;
export const ATA_CMD_READ_LOG_EXT = 0x2f;
export const ATA_CMD_WRITE_DMA_EXT = 0x35;
export const ATA_CMD_READ_FPDMA_QUEUED = 0x60;
export const ATA_CMD_WRITE_FPDMA_QUEUED = 0x61;
export const ATA_CMD_FLUSH_CACHE_EXT = 0xea;
export const ATA_CMD_IDENTIFY_DEVICE = 0xec;
export const ATA_CMD_SET_FEATURES = 0xef;

export const ATA_ST_BSY = 0x80;
export const ATA_ST_DRDY = 0x40;
export const ATA_ST_DF = 0x20;
export const ATA_ST_DRQ = 0x08;
export const ATA_ST_ERR = 0x01;

export const ATA_ER_ABRT = 0x04;
export const ATA_ER_IDNF = 0x10;
export const ATA_ER_UNC = 0x40;

/** READ LOG EXT page: the NCQ command error log (tag, status, error of the failed command). */
export const ATA_LOG_NCQ_ERROR = 0x10;

/** Device register: LBA addressing. */
export const ATA_DEV_LBA = 0x40;
/** Device register of an FPDMA command: force unit access. */
export const ATA_DEV_FUA = 0x80;

/** The largest sector count of one 48-bit command (count 0 means 65536). */
export const ATA_MAX_SECTORS_EXT = 65536;
export const ATA_MAX_LBA48 = 2 ** 48;

// IDENTIFY DEVICE word numbers.
export const ATA_ID_SERIAL = 10; // 10 words
export const ATA_ID_FIRMWARE = 23; // 4 words
export const ATA_ID_MODEL = 27; // 20 words
export const ATA_ID_CAPABILITIES = 49; // bit 9: LBA, bit 8: DMA
export const ATA_ID_LBA28_SECTORS = 60; // 2 words
export const ATA_ID_QUEUE_DEPTH = 75; // bits 4:0 = depth - 1
export const ATA_ID_SATA_CAPABILITIES = 76; // bit 8: NCQ
export const ATA_ID_COMMAND_SET_2 = 83; // bit 10: 48-bit, bit 13: FLUSH CACHE EXT
export const ATA_ID_COMMAND_SET_ENABLED_2 = 86;
export const ATA_ID_COMMAND_SET_1 = 82; // bit 5: write cache
export const ATA_ID_COMMAND_SET_ENABLED_1 = 85;
export const ATA_ID_LBA48_SECTORS = 100; // 4 words
export const ATA_ID_SECTOR_SIZE = 106; // bit 14 valid, bit 12: logical sector > 256 words
export const ATA_ID_LOGICAL_SECTOR_WORDS = 117; // 2 words
