//! Hub88's operator wallet API (`/user/info`, `/user/balance`, `/transaction/{bet,win,rollback}`), RSA-SHA256 signed.
