package upload

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"unicode/utf16"
)

// maxZipEntries bounds the central directory Go's zip reader loads into
// memory; real office documents have a few dozen to a few thousand parts.
const maxZipEntries = 10_000

// classifyContainer settles a provisional zip or OLE type by looking inside
// the stored file. It reads little: the zip central directory and at most
// 1 MiB of one small part, or two OLE sectors. Anything it does not
// recognise (a plain zip, a JAR, an MSI, a macro-enabled document) comes
// back as a type that no allowlist contains.
func classifyContainer(ra io.ReaderAt, size int64, provisional string) string {
	switch provisional {
	case typeZip:
		return classifyZip(ra, size)
	case typeOLE:
		return classifyOLE(ra, size)
	}
	return provisional
}

func classifyZip(ra io.ReaderAt, size int64) string {
	if n, ok := zipEntryCount(ra, size); !ok || n > maxZipEntries {
		return typeZip
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return typeZip
	}
	var contentTypes, mimetype *zip.File
	for _, f := range zr.File {
		name := strings.ToLower(f.Name)
		switch {
		case strings.HasSuffix(name, "vbaproject.bin"), strings.HasSuffix(name, "vbadata.xml"):
			return typeUnsupportedOffice
		case f.Name == "[Content_Types].xml":
			contentTypes = f
		case f.Name == "mimetype":
			mimetype = f
		}
	}
	if contentTypes != nil {
		xml := readSmall(contentTypes, 1<<20)
		switch {
		case bytes.Contains(bytes.ToLower(xml), []byte("macroenabled")):
			return typeUnsupportedOffice
		case bytes.Contains(xml, []byte("wordprocessingml.document.main+xml")):
			return TypeDOCX
		case bytes.Contains(xml, []byte("spreadsheetml.sheet.main+xml")):
			return TypeXLSX
		case bytes.Contains(xml, []byte("presentationml.presentation.main+xml")):
			return TypePPTX
		}
		return typeZip
	}
	if mimetype != nil {
		switch t := string(bytes.TrimSpace(readSmall(mimetype, 128))); t {
		case TypeODT, TypeODS, TypeODP:
			return t
		}
	}
	return typeZip
}

// readSmall reads at most limit bytes of a zip entry; a damaged entry
// yields what was read so far.
func readSmall(f *zip.File, limit int64) []byte {
	rc, err := f.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, limit))
	return b
}

// zipEntryCount reads the entry count from the end-of-central-directory
// record before Go's reader allocates one struct per entry. ZIP64 archives
// (which no office suite writes for small documents) are refused.
func zipEntryCount(ra io.ReaderAt, size int64) (int, bool) {
	const eocdLen = 22
	tail := min(size, eocdLen+0xFFFF) // the record plus the longest comment
	if tail < eocdLen {
		return 0, false
	}
	buf := make([]byte, tail)
	if _, err := ra.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, false
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < eocdLen {
		return 0, false
	}
	n := binary.LittleEndian.Uint16(buf[i+10:])
	if n == 0xFFFF {
		return 0, false
	}
	return int(n), true
}

// OLE root-storage class ids of the binary Office formats, as stored on
// disk (the first three fields little-endian).
var oleClasses = map[[16]byte]string{
	{0x06, 0x09, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}:                               TypeDOC, // Word 97+
	{0x20, 0x08, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}:                               TypeXLS, // Excel 97+
	{0x10, 0x08, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}:                               TypeXLS, // Excel 5
	{0x10, 0x8D, 0x81, 0x64, 0x9B, 0x4F, 0xCF, 0x11, 0x86, 0xEA, 0x00, 0xAA, 0x00, 0xB9, 0x29, 0xE8}: TypePPT, // PowerPoint 97+
}

// classifyOLE reads the compound-file header and the first directory
// sector: the root entry's class id names the application; when it is
// empty (some generators leave it so) the main stream's name does. Macro
// storages and encrypted packages make the file unrecognised.
func classifyOLE(ra io.ReaderAt, size int64) string {
	hdr := make([]byte, 512)
	if _, err := ra.ReadAt(hdr, 0); err != nil {
		return typeOLE
	}
	shift := binary.LittleEndian.Uint16(hdr[30:])
	if shift != 9 && shift != 12 {
		return typeOLE
	}
	sectorSize := int64(1) << shift
	dirSector := int64(binary.LittleEndian.Uint32(hdr[48:]))
	off := (dirSector + 1) * sectorSize
	if dirSector >= 0xFFFFFFFA || off+sectorSize > size {
		return typeOLE
	}
	dir := make([]byte, sectorSize)
	if _, err := ra.ReadAt(dir, off); err != nil {
		return typeOLE
	}
	byName := ""
	for e := int64(0); e+128 <= sectorSize; e += 128 {
		name := oleEntryName(dir[e : e+128])
		switch name {
		case "Macros", "_VBA_PROJECT_CUR", "VBA", "EncryptedPackage":
			return typeUnsupportedOffice
		case "WordDocument":
			byName = TypeDOC
		case "Workbook", "Book":
			byName = TypeXLS
		case "PowerPoint Document":
			byName = TypePPT
		}
	}
	var class [16]byte
	copy(class[:], dir[80:96])
	if t, ok := oleClasses[class]; ok {
		return t
	}
	if class == ([16]byte{}) && byName != "" {
		return byName
	}
	return typeOLE
}

// oleEntryName decodes a directory entry's UTF-16LE name.
func oleEntryName(e []byte) string {
	n := int(binary.LittleEndian.Uint16(e[64:]))
	if n < 2 || n > 64 || n%2 != 0 {
		return ""
	}
	u := make([]uint16, 0, n/2-1)
	for i := 0; i+1 < n-2; i += 2 {
		u = append(u, binary.LittleEndian.Uint16(e[i:]))
	}
	return string(utf16.Decode(u))
}
