package response

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
)

// FileEntry is one file of a file response.
type FileEntry struct {
	// Path is the file served.
	Path string

	// Filename, when set, is the name the client is told: in Content-Disposition for a single file, in the
	// part's header in a multipart response.
	Filename string

	// Identifier is the form name of the part in a multipart response.
	Identifier string
}

// FileResponse serves files as application/octet-stream: one file with http.ServeContent (ranges and conditional
// requests), several as a multipart/form-data body of one part per file. onServe, when not nil, runs once the
// files are open, before anything is written.
func FileResponse(files []FileEntry, onServe func()) Response {
	return &fileResponse{files: files, onServe: onServe}
}

// FileResponseHeaders is FileResponse with headers added to the response.
func FileResponseHeaders(files []FileEntry, headers http.Header, onServe func()) Response {
	return &fileResponse{files: files, headers: headers, onServe: onServe}
}

type fileResponse struct {
	files   []FileEntry
	headers http.Header
	onServe func()
}

// Render writes the file or files.
func (f *fileResponse) Render(w http.ResponseWriter, r *http.Request) error {
	opened := make([]*os.File, 0, len(f.files))
	defer func() {
		for _, file := range opened {
			_ = file.Close()
		}
	}()

	for _, entry := range f.files {
		file, err := os.Open(entry.Path)
		if err != nil {
			return err
		}

		opened = append(opened, file)
	}

	for key, values := range f.headers {
		for _, v := range values {
			w.Header().Add(key, v)
		}
	}

	if len(opened) == 1 {
		info, err := opened[0].Stat()
		if err != nil {
			return err
		}

		w.Header().Set("Content-Type", "application/octet-stream")
		if f.files[0].Filename != "" {
			w.Header().Set("Content-Disposition", "inline;filename="+f.files[0].Filename)
		}

		if f.onServe != nil {
			f.onServe()
		}

		http.ServeContent(w, r, "", info.ModTime(), opened[0])
		return nil
	}

	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", mw.FormDataContentType())
	w.WriteHeader(http.StatusOK)
	if f.onServe != nil {
		f.onServe()
	}

	for i, entry := range f.files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf("form-data; name=%q; filename=%q", entry.Identifier, entry.Filename))
		h.Set("Content-Type", "application/octet-stream")
		part, err := mw.CreatePart(h)
		if err != nil {
			return err
		}

		_, err = io.Copy(part, opened[i])
		if err != nil {
			return err
		}
	}

	return mw.Close()
}
