package upload

// Content types this package can recognise. Only those in Config.Allowed
// (DefaultAllowed unless configured) are accepted.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypeGIF  = "image/gif"
	TypeWebP = "image/webp"
	TypeHEIC = "image/heic"
	TypePDF  = "application/pdf"
	TypeText = "text/plain"
	TypeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	TypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	TypePPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	TypeDOC  = "application/msword"
	TypeXLS  = "application/vnd.ms-excel"
	TypePPT  = "application/vnd.ms-powerpoint"
	TypeODT  = "application/vnd.oasis.opendocument.text"
	TypeODS  = "application/vnd.oasis.opendocument.spreadsheet"
	TypeODP  = "application/vnd.oasis.opendocument.presentation"

	// TypeExecutable is reported for ELF, PE, Mach-O, Java class,
	// WebAssembly and shebang scripts. It can never be allowed.
	TypeExecutable = "application/x-executable"
	// TypeUnknown is reported when nothing matched.
	TypeUnknown = "application/octet-stream"

	// Provisional results of Sniff, settled by looking inside the stored
	// container (see classifyContainer).
	typeZip = "application/zip"
	typeOLE = "application/x-ole-storage"
	// typeUnsupportedOffice marks macro-enabled or encrypted office files,
	// which are refused whatever the allowlist says.
	typeUnsupportedOffice = "application/x-office-macro-or-encrypted"
)

// DefaultAllowed is the allowlist used when Config.Allowed is empty:
// photos, PDFs, office documents and plain text.
var DefaultAllowed = []string{
	TypeJPEG, TypePNG, TypeGIF, TypeWebP, TypeHEIC,
	TypePDF, TypeText,
	TypeDOCX, TypeXLSX, TypePPTX, TypeDOC, TypeXLS, TypePPT,
	TypeODT, TypeODS, TypeODP,
}

// extensions lists, per type, the extensions a file name may keep; the
// first is the one added when the client's does not fit.
var extensions = map[string][]string{
	TypeJPEG: {".jpg", ".jpeg"},
	TypePNG:  {".png"},
	TypeGIF:  {".gif"},
	TypeWebP: {".webp"},
	TypeHEIC: {".heic", ".heif"},
	TypePDF:  {".pdf"},
	TypeText: {".txt", ".csv", ".md", ".log"},
	TypeDOCX: {".docx"},
	TypeXLSX: {".xlsx"},
	TypePPTX: {".pptx"},
	TypeDOC:  {".doc"},
	TypeXLS:  {".xls"},
	TypePPT:  {".ppt"},
	TypeODT:  {".odt"},
	TypeODS:  {".ods"},
	TypeODP:  {".odp"},
}

// zipTypes and oleTypes are the final types each container can become.
var (
	zipTypes = []string{TypeDOCX, TypeXLSX, TypePPTX, TypeODT, TypeODS, TypeODP}
	oleTypes = []string{TypeDOC, TypeXLS, TypePPT}
)

// IsImage reports whether t is an image type browsers display inline
// (the HTTP layer may serve these with Content-Disposition: inline).
func IsImage(t string) bool {
	switch t {
	case TypeJPEG, TypePNG, TypeGIF, TypeWebP:
		return true
	}
	return false
}

// thumbnailable reports whether the standard library (plus x/image/webp)
// can decode t.
func thumbnailable(t string) bool { return IsImage(t) }
