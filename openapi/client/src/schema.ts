// Generated from openapi/openapi.json by `bun run openapi` (openapi-typescript). Do not edit.
export interface paths {
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Service name and version; 503 when the database is unreachable */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/live": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process is up (the database is not consulted) */
        get: operations["getHealthLive"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: the database answers and every migration is applied; 503 otherwise */
        get: operations["getHealthReady"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Public settings: enabled providers, signup and autoconfirm */
        get: operations["getSettings"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Public keys that verify access tokens (JWKS); empty with the HS256 secret alone */
        get: operations["get.well-knownJwks.json"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/openid-configuration": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** OpenID discovery: issuer (GOTRUE_JWT_ISSUER) and jwks_uri */
        get: operations["get.well-knownOpenid-configuration"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics (Authorization: Bearer GOTRUE_METRICS_TOKEN) */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/signup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Sign up with email and password */
        post: operations["postSignup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Confirm a signup, accept an invite, recover, or confirm an email change, with the token from a mail */
        post: operations["postVerify"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/recover": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Request a password recovery mail (always 200 {} for well-formed requests) */
        post: operations["postRecover"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/otp": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Mail a sign-in link and code (always 200 {} for well-formed requests) */
        post: operations["postOtp"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/resend": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Mail a pending signup confirmation or email change again (always 200 {} for well-formed requests) */
        post: operations["postResend"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** OAuth2 token endpoint: password, refresh_token, authorization_code and pkce (PKCE) grants */
        post: operations["postToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/user": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The current user */
        get: operations["getUser"];
        /** Update the current user: data, password, email (with confirmation) */
        put: operations["putUser"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/reauthenticate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Mail the signed-in user a nonce for a password change (supabase)
         * @description PUT /user takes it as `nonce` beside `password`; required when GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION is on and the session is older than 24 hours.
         */
        get: operations["getReauthenticate"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/user/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's sessions (one per sign-in), newest first; the current one marked */
        get: operations["getUserSessions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/user/sessions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** End one of your sessions (204) */
        delete: operations["deleteUserSessionsById"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/factors/recovery-codes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** How many recovery codes are left */
        get: operations["getFactorsRecovery-codes"];
        put?: never;
        /** Generate recovery codes (aal2; returned once) */
        post: operations["postFactorsRecovery-codes"];
        /** Remove the recovery codes (aal2) */
        delete: operations["deleteFactorsRecovery-codes"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/factors/recovery-codes/regenerate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Replace the recovery codes with a new set (aal2; the old set stops working) */
        post: operations["postFactorsRecovery-codesRegenerate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/factors/recovery-codes/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Use one recovery code: a new aal2 token pair for this session */
        post: operations["postFactorsRecovery-codesVerify"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/factors": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Enroll a TOTP factor (unverified until its first challenge is verified) */
        post: operations["postFactors"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/factors/{id}/challenge": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Open a challenge for a factor */
        post: operations["postFactorsByIdChallenge"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/factors/{id}/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Verify a challenge with a TOTP code: a new aal2 token pair for this session (aal2 to verify a new factor once one is verified) */
        post: operations["postFactorsByIdVerify"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/factors/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Unenroll a factor (aal2 required once the user has a verified factor) */
        delete: operations["deleteFactorsById"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Log out: end the sessions of the scope (default global: all of the user), 204 */
        post: operations["postLogout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/invite": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Invite a user by email (admin) */
        post: operations["postInvite"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/authorize": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Start sign-in with an external provider */
        get: operations["getAuthorize"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** OAuth callback from the provider */
        get: operations["getCallback"];
        put?: never;
        /** OAuth callback from the provider */
        post: operations["postCallback"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List users (page/per_page or keyset cursor; filter, email, sort) */
        get: operations["getAdminUsers"];
        put?: never;
        /** Create a user (password or an existing bcrypt password_hash; confirm) */
        post: operations["postAdminUsers"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/users/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Export every user of the audience with password hashes, streamed (needs API_EXPORT_SECRET and its EXPORT_SECRET header; all=true: every audience) */
        get: operations["getAdminUsersExport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/users/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a user */
        get: operations["getAdminUsersByUser_id"];
        /** Update a user (role, confirm, password, email, metadata merge) */
        put: operations["putAdminUsersByUser_id"];
        post?: never;
        /** Delete a user (and its sessions) */
        delete: operations["deleteAdminUsersByUser_id"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/users/{user_id}/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A user's live sessions, newest first */
        get: operations["getAdminUsersByUser_idSessions"];
        put?: never;
        post?: never;
        /** End every session of a user (204) */
        delete: operations["deleteAdminUsersByUser_idSessions"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/users/{user_id}/sessions/{session_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** End one of a user's sessions (204) */
        delete: operations["deleteAdminUsersByUser_idSessionsBySession_id"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/users/{user_id}/factors": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A user's MFA factors */
        get: operations["getAdminUsersByUser_idFactors"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/users/{user_id}/factors/{factor_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Delete one of a user's MFA factors */
        delete: operations["deleteAdminUsersByUser_idFactorsByFactor_id"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The audit log, newest first (query=author:|action:|type:) */
        get: operations["getAdminAudit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/generate_link": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Generate the link a mail would carry (signup, invite, magiclink, recovery, email change), without mailing it */
        post: operations["postAdminGenerate_link"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        "health.response": {
            description: string;
            name: string;
            version: string;
        };
        "settings.response": {
            external: {
                bitbucket: boolean;
                github: boolean;
                gitlab: boolean;
                google: boolean;
                facebook: boolean;
                email: boolean;
                saml: boolean;
            };
            external_labels: {
                saml?: string;
            };
            disable_signup: boolean;
            autoconfirm: boolean;
        };
        /** @description JSON Web Key Set (RFC 7517): public keys only */
        "well-known.jwks": {
            keys: {
                kty: string;
                kid: string;
                alg: string;
                use: string;
                key_ops: string[];
                n?: string;
                e?: string;
                crv?: string;
                x?: string;
                y?: string;
            }[];
        };
        /** @description OpenID Connect discovery document (the subset that locates the keys) */
        "well-known.discovery": {
            issuer: string;
            jwks_uri: string;
            token_endpoint: string;
            userinfo_endpoint: string;
            grant_types_supported: string[];
            response_types_supported: string[];
            subject_types_supported: string[];
            id_token_signing_alg_values_supported: string[];
        };
        "signup.body": {
            email?: string;
            password?: string;
            /**
             * @description a JSON object (null or absent: no change)
             * @example {
             *       "full_name": "Ada Lovelace"
             *     }
             */
            data?: unknown;
            /** @description PKCE: the mail link then lands with ?code= for POST /token grant_type=pkce */
            code_challenge?: string | null;
            /** @description s256 (plain only with GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED) */
            code_challenge_method?: string | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * @description A GoTrue user (supabase clients: with supabase's extra fields)
         * @example {
         *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
         *       "aud": "api.netlify.com",
         *       "role": "",
         *       "email": "ada@example.com",
         *       "confirmed_at": "2025-03-14T09:26:53Z",
         *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
         *       "last_sign_in_at": "2025-03-14T09:26:53Z",
         *       "app_metadata": {
         *         "provider": "email"
         *       },
         *       "user_metadata": {
         *         "full_name": "Ada Lovelace"
         *       },
         *       "created_at": "2025-03-14T09:25:10Z",
         *       "updated_at": "2025-03-14T09:26:53Z"
         *     }
         */
        "signup.response": {
            /** Format: uuid */
            id: string;
            aud: string;
            role: string;
            /** Format: email */
            email: string;
            /** Format: date-time */
            confirmed_at?: string;
            /** Format: date-time */
            invited_at?: string;
            /** Format: date-time */
            confirmation_sent_at?: string;
            /** Format: date-time */
            recovery_sent_at?: string;
            /** Format: email */
            new_email?: string;
            /** Format: date-time */
            email_change_sent_at?: string;
            /** Format: date-time */
            last_sign_in_at?: string;
            app_metadata: {
                [key: string]: unknown;
            };
            user_metadata: {
                [key: string]: unknown;
            };
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /**
             * Format: date-time
             * @description supabase clients only: confirmed_at
             */
            email_confirmed_at?: string;
            /** @description supabase clients only: always empty (no phone sign-in) */
            phone?: string;
            /** @description supabase clients only: always false */
            is_anonymous?: boolean;
            /** @description supabase clients only: one per sign-in provider of app_metadata */
            identities?: {
                identity_id: string;
                id: string;
                user_id: string;
                provider: string;
                email: string;
                identity_data: {
                    [key: string]: unknown;
                };
                /** Format: date-time */
                last_sign_in_at?: string;
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
            }[];
            /** @description MFA factors (GET /user and sessions), only when the user has some */
            factors?: {
                id: string;
                friendly_name: string;
                /**
                 * @default totp
                 * @enum {string}
                 */
                factor_type: "totp" | "recovery_code";
                /**
                 * @default verified
                 * @enum {string}
                 */
                status: "verified" | "unverified";
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
                /** Format: date-time */
                last_challenged_at?: string;
            }[];
        };
        "verify.body": {
            type?: string;
            token?: string;
            password?: string;
            /** @description with a short code from a sign-in mail: the address it went to */
            email?: string;
            /** @description supabase's name for the link's token */
            token_hash?: string;
        } & {
            [key: string]: unknown;
        };
        /**
         * @description Access and refresh token (supabase clients: with `expires_at` and `user`)
         * @example {
         *       "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI1ZjBjM2EyZSJ9.c2lnbmF0dXJl",
         *       "token_type": "bearer",
         *       "expires_in": 3600,
         *       "refresh_token": "kXq3V9m2Yc7L0pTzR8wNfA4hJ6sDbE1u"
         *     }
         */
        "verify.response": {
            access_token: string;
            /** @constant */
            token_type: "bearer";
            expires_in: number;
            refresh_token: string;
            /** @description supabase clients only: when the access token expires (Unix seconds) */
            expires_at?: number;
            /**
             * @description A GoTrue user (supabase clients: with supabase's extra fields)
             * @example {
             *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
             *       "aud": "api.netlify.com",
             *       "role": "",
             *       "email": "ada@example.com",
             *       "confirmed_at": "2025-03-14T09:26:53Z",
             *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
             *       "last_sign_in_at": "2025-03-14T09:26:53Z",
             *       "app_metadata": {
             *         "provider": "email"
             *       },
             *       "user_metadata": {
             *         "full_name": "Ada Lovelace"
             *       },
             *       "created_at": "2025-03-14T09:25:10Z",
             *       "updated_at": "2025-03-14T09:26:53Z"
             *     }
             */
            user?: {
                /** Format: uuid */
                id: string;
                aud: string;
                role: string;
                /** Format: email */
                email: string;
                /** Format: date-time */
                confirmed_at?: string;
                /** Format: date-time */
                invited_at?: string;
                /** Format: date-time */
                confirmation_sent_at?: string;
                /** Format: date-time */
                recovery_sent_at?: string;
                /** Format: email */
                new_email?: string;
                /** Format: date-time */
                email_change_sent_at?: string;
                /** Format: date-time */
                last_sign_in_at?: string;
                app_metadata: {
                    [key: string]: unknown;
                };
                user_metadata: {
                    [key: string]: unknown;
                };
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
                /**
                 * Format: date-time
                 * @description supabase clients only: confirmed_at
                 */
                email_confirmed_at?: string;
                /** @description supabase clients only: always empty (no phone sign-in) */
                phone?: string;
                /** @description supabase clients only: always false */
                is_anonymous?: boolean;
                /** @description supabase clients only: one per sign-in provider of app_metadata */
                identities?: {
                    identity_id: string;
                    id: string;
                    user_id: string;
                    provider: string;
                    email: string;
                    identity_data: {
                        [key: string]: unknown;
                    };
                    /** Format: date-time */
                    last_sign_in_at?: string;
                    /** Format: date-time */
                    created_at: string;
                    /** Format: date-time */
                    updated_at: string;
                }[];
                /** @description MFA factors (GET /user and sessions), only when the user has some */
                factors?: {
                    id: string;
                    friendly_name: string;
                    /**
                     * @default totp
                     * @enum {string}
                     */
                    factor_type: "totp" | "recovery_code";
                    /**
                     * @default verified
                     * @enum {string}
                     */
                    status: "verified" | "unverified";
                    /** Format: date-time */
                    created_at: string;
                    /** Format: date-time */
                    updated_at: string;
                    /** Format: date-time */
                    last_challenged_at?: string;
                }[];
            };
        };
        "recover.body": {
            email?: string;
            /** @description PKCE: the mail link then lands with ?code= for POST /token grant_type=pkce */
            code_challenge?: string | null;
            /** @description s256 (plain only with GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED) */
            code_challenge_method?: string | null;
        } & {
            [key: string]: unknown;
        };
        "recover.response": Record<string, never>;
        "otp.body": {
            email?: string;
            /** @description create the account when the address has none (default true) */
            create_user?: boolean;
            /**
             * @description a JSON object (null or absent: no change)
             * @example {
             *       "full_name": "Ada Lovelace"
             *     }
             */
            data?: unknown;
            /** @description PKCE: the mail link then lands with ?code= for POST /token grant_type=pkce */
            code_challenge?: string | null;
            /** @description s256 (plain only with GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED) */
            code_challenge_method?: string | null;
        } & {
            [key: string]: unknown;
        };
        "otp.resend": {
            email?: string;
            /** @description signup | email_change */
            type?: string;
            /** @description PKCE: the mail link then lands with ?code= for POST /token grant_type=pkce */
            code_challenge?: string | null;
            /** @description s256 (plain only with GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED) */
            code_challenge_method?: string | null;
        } & {
            [key: string]: unknown;
        };
        "otp.response": Record<string, never>;
        /**
         * @description Access and refresh token (supabase clients: with `expires_at` and `user`)
         * @example {
         *       "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI1ZjBjM2EyZSJ9.c2lnbmF0dXJl",
         *       "token_type": "bearer",
         *       "expires_in": 3600,
         *       "refresh_token": "kXq3V9m2Yc7L0pTzR8wNfA4hJ6sDbE1u"
         *     }
         */
        "token.response": {
            access_token: string;
            /** @constant */
            token_type: "bearer";
            expires_in: number;
            refresh_token: string;
            /** @description supabase clients only: when the access token expires (Unix seconds) */
            expires_at?: number;
            /**
             * @description A GoTrue user (supabase clients: with supabase's extra fields)
             * @example {
             *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
             *       "aud": "api.netlify.com",
             *       "role": "",
             *       "email": "ada@example.com",
             *       "confirmed_at": "2025-03-14T09:26:53Z",
             *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
             *       "last_sign_in_at": "2025-03-14T09:26:53Z",
             *       "app_metadata": {
             *         "provider": "email"
             *       },
             *       "user_metadata": {
             *         "full_name": "Ada Lovelace"
             *       },
             *       "created_at": "2025-03-14T09:25:10Z",
             *       "updated_at": "2025-03-14T09:26:53Z"
             *     }
             */
            user?: {
                /** Format: uuid */
                id: string;
                aud: string;
                role: string;
                /** Format: email */
                email: string;
                /** Format: date-time */
                confirmed_at?: string;
                /** Format: date-time */
                invited_at?: string;
                /** Format: date-time */
                confirmation_sent_at?: string;
                /** Format: date-time */
                recovery_sent_at?: string;
                /** Format: email */
                new_email?: string;
                /** Format: date-time */
                email_change_sent_at?: string;
                /** Format: date-time */
                last_sign_in_at?: string;
                app_metadata: {
                    [key: string]: unknown;
                };
                user_metadata: {
                    [key: string]: unknown;
                };
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
                /**
                 * Format: date-time
                 * @description supabase clients only: confirmed_at
                 */
                email_confirmed_at?: string;
                /** @description supabase clients only: always empty (no phone sign-in) */
                phone?: string;
                /** @description supabase clients only: always false */
                is_anonymous?: boolean;
                /** @description supabase clients only: one per sign-in provider of app_metadata */
                identities?: {
                    identity_id: string;
                    id: string;
                    user_id: string;
                    provider: string;
                    email: string;
                    identity_data: {
                        [key: string]: unknown;
                    };
                    /** Format: date-time */
                    last_sign_in_at?: string;
                    /** Format: date-time */
                    created_at: string;
                    /** Format: date-time */
                    updated_at: string;
                }[];
                /** @description MFA factors (GET /user and sessions), only when the user has some */
                factors?: {
                    id: string;
                    friendly_name: string;
                    /**
                     * @default totp
                     * @enum {string}
                     */
                    factor_type: "totp" | "recovery_code";
                    /**
                     * @default verified
                     * @enum {string}
                     */
                    status: "verified" | "unverified";
                    /** Format: date-time */
                    created_at: string;
                    /** Format: date-time */
                    updated_at: string;
                    /** Format: date-time */
                    last_challenged_at?: string;
                }[];
            };
        };
        /** @description Sign in with email and password: the email as `username` (GoTrue's clients) or as `email` (supabase's); one of them is needed */
        "token.password": {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            grant_type: "password";
            /** @description the email */
            username?: string;
            /** @description the email, as supabase clients send it */
            email?: string;
            password: string;
        };
        /** @description Exchange a refresh token for a new session (the token rotates) */
        "token.refresh_token": {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            grant_type: "refresh_token";
            refresh_token: string;
        };
        /** @description Exchange a PKCE code from an external sign-in */
        "token.authorization_code": {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            grant_type: "authorization_code";
            code: string;
            code_verifier: string;
        };
        /** @description supabase's PKCE exchange: the ?code= of an external sign-in or of a mail link (signup confirmation, magic link, recovery) asked for with a code_challenge; errors 404 flow_state_not_found, 422 flow_state_expired, 400 bad_code_verifier */
        "token.pkce": {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            grant_type: "pkce";
            auth_code: string;
            code_verifier: string;
        };
        /**
         * @description A GoTrue user (supabase clients: with supabase's extra fields)
         * @example {
         *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
         *       "aud": "api.netlify.com",
         *       "role": "",
         *       "email": "ada@example.com",
         *       "confirmed_at": "2025-03-14T09:26:53Z",
         *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
         *       "last_sign_in_at": "2025-03-14T09:26:53Z",
         *       "app_metadata": {
         *         "provider": "email"
         *       },
         *       "user_metadata": {
         *         "full_name": "Ada Lovelace"
         *       },
         *       "created_at": "2025-03-14T09:25:10Z",
         *       "updated_at": "2025-03-14T09:26:53Z"
         *     }
         */
        "user.response": {
            /** Format: uuid */
            id: string;
            aud: string;
            role: string;
            /** Format: email */
            email: string;
            /** Format: date-time */
            confirmed_at?: string;
            /** Format: date-time */
            invited_at?: string;
            /** Format: date-time */
            confirmation_sent_at?: string;
            /** Format: date-time */
            recovery_sent_at?: string;
            /** Format: email */
            new_email?: string;
            /** Format: date-time */
            email_change_sent_at?: string;
            /** Format: date-time */
            last_sign_in_at?: string;
            app_metadata: {
                [key: string]: unknown;
            };
            user_metadata: {
                [key: string]: unknown;
            };
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /**
             * Format: date-time
             * @description supabase clients only: confirmed_at
             */
            email_confirmed_at?: string;
            /** @description supabase clients only: always empty (no phone sign-in) */
            phone?: string;
            /** @description supabase clients only: always false */
            is_anonymous?: boolean;
            /** @description supabase clients only: one per sign-in provider of app_metadata */
            identities?: {
                identity_id: string;
                id: string;
                user_id: string;
                provider: string;
                email: string;
                identity_data: {
                    [key: string]: unknown;
                };
                /** Format: date-time */
                last_sign_in_at?: string;
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
            }[];
            /** @description MFA factors (GET /user and sessions), only when the user has some */
            factors?: {
                id: string;
                friendly_name: string;
                /**
                 * @default totp
                 * @enum {string}
                 */
                factor_type: "totp" | "recovery_code";
                /**
                 * @default verified
                 * @enum {string}
                 */
                status: "verified" | "unverified";
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
                /** Format: date-time */
                last_challenged_at?: string;
            }[];
        };
        "user.update": {
            email?: string;
            password?: string;
            email_change_token?: string;
            /** @description the code GET /reauthenticate mailed, for a password change (supabase) */
            nonce?: string;
            /**
             * @description a JSON object (null or absent: no change)
             * @example {
             *       "full_name": "Ada Lovelace"
             *     }
             */
            data?: unknown;
            /**
             * @description a JSON object (null or absent: no change)
             * @example {
             *       "full_name": "Ada Lovelace"
             *     }
             */
            app_metadata?: unknown;
        } & {
            [key: string]: unknown;
        };
        "reauthenticate.response": Record<string, never>;
        "sessions.list": {
            sessions: {
                /** @description the session id, as access tokens carry it in `session_id` */
                id: string;
                created_at: string;
                refreshed_at: string | null;
                /** @description end of the session (GOTRUE_SESSIONS_TIMEBOX), or null */
                not_after: string | null;
                /** @description browser and system, e.g. "Firefox on Linux" (no versions) */
                user_agent: string;
                /** @description the network the session started from: an IPv4 /24 or IPv6 /48 */
                ip: string;
                /**
                 * @description the assurance level the session reached: aal2 once a second factor was verified in it
                 * @default aal1
                 * @enum {string}
                 */
                aal: "aal1" | "aal2";
                /**
                 * @description the level the user can reach: aal2 when the user has a verified MFA factor (a session below it has a second step due), else aal1
                 * @default aal1
                 * @enum {string}
                 */
                next_level: "aal1" | "aal2";
                /** @description the session of the access token making the request */
                current: boolean;
            }[];
        };
        /** @description How many recovery codes the user has left (never the codes) */
        "factors.recovery-status": {
            id: string;
            /** @constant */
            type: "recovery_code";
            total: number;
            remaining: number;
        };
        /** @description A new set of recovery codes, shown this once */
        "factors.recovery-codes": {
            id: string;
            /** @constant */
            type: "recovery_code";
            friendly_name: string;
            total: number;
            codes: string[];
        };
        "factors.enroll": {
            factor_type: string;
            friendly_name?: string;
            issuer?: string;
            phone?: string;
        };
        /** @description A new, unverified TOTP factor: show the QR code (or the secret) once */
        "factors.enrolled": {
            id: string;
            /** @constant */
            type: "totp";
            friendly_name: string;
            totp: {
                /** @description SVG */
                qr_code: string;
                /** @description base32 */
                secret: string;
                /** @description otpauth://totp/… */
                uri: string;
            };
        };
        "factors.challenge": {
            id: string;
            /** @constant */
            type: "totp";
            /** @description Unix seconds */
            expires_at: number;
        };
        "factors.verify": {
            challenge_id: string;
            code: string;
        };
        "invite.body": {
            email?: string;
            /**
             * @description a JSON object (null or absent: no change)
             * @example {
             *       "full_name": "Ada Lovelace"
             *     }
             */
            data?: unknown;
        } & {
            [key: string]: unknown;
        };
        /**
         * @description A GoTrue user (supabase clients: with supabase's extra fields)
         * @example {
         *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
         *       "aud": "api.netlify.com",
         *       "role": "",
         *       "email": "ada@example.com",
         *       "confirmed_at": "2025-03-14T09:26:53Z",
         *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
         *       "last_sign_in_at": "2025-03-14T09:26:53Z",
         *       "app_metadata": {
         *         "provider": "email"
         *       },
         *       "user_metadata": {
         *         "full_name": "Ada Lovelace"
         *       },
         *       "created_at": "2025-03-14T09:25:10Z",
         *       "updated_at": "2025-03-14T09:26:53Z"
         *     }
         */
        "invite.response": {
            /** Format: uuid */
            id: string;
            aud: string;
            role: string;
            /** Format: email */
            email: string;
            /** Format: date-time */
            confirmed_at?: string;
            /** Format: date-time */
            invited_at?: string;
            /** Format: date-time */
            confirmation_sent_at?: string;
            /** Format: date-time */
            recovery_sent_at?: string;
            /** Format: email */
            new_email?: string;
            /** Format: date-time */
            email_change_sent_at?: string;
            /** Format: date-time */
            last_sign_in_at?: string;
            app_metadata: {
                [key: string]: unknown;
            };
            user_metadata: {
                [key: string]: unknown;
            };
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /**
             * Format: date-time
             * @description supabase clients only: confirmed_at
             */
            email_confirmed_at?: string;
            /** @description supabase clients only: always empty (no phone sign-in) */
            phone?: string;
            /** @description supabase clients only: always false */
            is_anonymous?: boolean;
            /** @description supabase clients only: one per sign-in provider of app_metadata */
            identities?: {
                identity_id: string;
                id: string;
                user_id: string;
                provider: string;
                email: string;
                identity_data: {
                    [key: string]: unknown;
                };
                /** Format: date-time */
                last_sign_in_at?: string;
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
            }[];
            /** @description MFA factors (GET /user and sessions), only when the user has some */
            factors?: {
                id: string;
                friendly_name: string;
                /**
                 * @default totp
                 * @enum {string}
                 */
                factor_type: "totp" | "recovery_code";
                /**
                 * @default verified
                 * @enum {string}
                 */
                status: "verified" | "unverified";
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
                /** Format: date-time */
                last_challenged_at?: string;
            }[];
        };
        "admin.user": {
            email?: string;
            password?: string;
            password_hash?: string;
            aud?: string;
            role?: string;
            confirm?: boolean;
            /** @description supabase's name for `confirm` */
            email_confirm?: boolean;
            /**
             * @description a JSON object (null or absent: no change)
             * @example {
             *       "full_name": "Ada Lovelace"
             *     }
             */
            user_metadata?: unknown;
            /**
             * @description a JSON object (null or absent: no change)
             * @example {
             *       "full_name": "Ada Lovelace"
             *     }
             */
            app_metadata?: unknown;
        } & {
            [key: string]: unknown;
        };
        "admin.users": {
            users: {
                /** Format: uuid */
                id: string;
                aud: string;
                role: string;
                /** Format: email */
                email: string;
                /** Format: date-time */
                confirmed_at?: string;
                /** Format: date-time */
                invited_at?: string;
                /** Format: date-time */
                confirmation_sent_at?: string;
                /** Format: date-time */
                recovery_sent_at?: string;
                /** Format: email */
                new_email?: string;
                /** Format: date-time */
                email_change_sent_at?: string;
                /** Format: date-time */
                last_sign_in_at?: string;
                app_metadata: {
                    [key: string]: unknown;
                };
                user_metadata: {
                    [key: string]: unknown;
                };
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
                /**
                 * Format: date-time
                 * @description supabase clients only: confirmed_at
                 */
                email_confirmed_at?: string;
                /** @description supabase clients only: always empty (no phone sign-in) */
                phone?: string;
                /** @description supabase clients only: always false */
                is_anonymous?: boolean;
                /** @description supabase clients only: one per sign-in provider of app_metadata */
                identities?: {
                    identity_id: string;
                    id: string;
                    user_id: string;
                    provider: string;
                    email: string;
                    identity_data: {
                        [key: string]: unknown;
                    };
                    /** Format: date-time */
                    last_sign_in_at?: string;
                    /** Format: date-time */
                    created_at: string;
                    /** Format: date-time */
                    updated_at: string;
                }[];
                /** @description MFA factors (GET /user and sessions), only when the user has some */
                factors?: {
                    id: string;
                    friendly_name: string;
                    /**
                     * @default totp
                     * @enum {string}
                     */
                    factor_type: "totp" | "recovery_code";
                    /**
                     * @default verified
                     * @enum {string}
                     */
                    status: "verified" | "unverified";
                    /** Format: date-time */
                    created_at: string;
                    /** Format: date-time */
                    updated_at: string;
                    /** Format: date-time */
                    last_challenged_at?: string;
                }[];
            }[];
            aud: string;
        };
        /**
         * @description A GoTrue user (supabase clients: with supabase's extra fields)
         * @example {
         *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
         *       "aud": "api.netlify.com",
         *       "role": "",
         *       "email": "ada@example.com",
         *       "confirmed_at": "2025-03-14T09:26:53Z",
         *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
         *       "last_sign_in_at": "2025-03-14T09:26:53Z",
         *       "app_metadata": {
         *         "provider": "email"
         *       },
         *       "user_metadata": {
         *         "full_name": "Ada Lovelace"
         *       },
         *       "created_at": "2025-03-14T09:25:10Z",
         *       "updated_at": "2025-03-14T09:26:53Z"
         *     }
         */
        "admin.userOut": {
            /** Format: uuid */
            id: string;
            aud: string;
            role: string;
            /** Format: email */
            email: string;
            /** Format: date-time */
            confirmed_at?: string;
            /** Format: date-time */
            invited_at?: string;
            /** Format: date-time */
            confirmation_sent_at?: string;
            /** Format: date-time */
            recovery_sent_at?: string;
            /** Format: email */
            new_email?: string;
            /** Format: date-time */
            email_change_sent_at?: string;
            /** Format: date-time */
            last_sign_in_at?: string;
            app_metadata: {
                [key: string]: unknown;
            };
            user_metadata: {
                [key: string]: unknown;
            };
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /**
             * Format: date-time
             * @description supabase clients only: confirmed_at
             */
            email_confirmed_at?: string;
            /** @description supabase clients only: always empty (no phone sign-in) */
            phone?: string;
            /** @description supabase clients only: always false */
            is_anonymous?: boolean;
            /** @description supabase clients only: one per sign-in provider of app_metadata */
            identities?: {
                identity_id: string;
                id: string;
                user_id: string;
                provider: string;
                email: string;
                identity_data: {
                    [key: string]: unknown;
                };
                /** Format: date-time */
                last_sign_in_at?: string;
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
            }[];
            /** @description MFA factors (GET /user and sessions), only when the user has some */
            factors?: {
                id: string;
                friendly_name: string;
                /**
                 * @default totp
                 * @enum {string}
                 */
                factor_type: "totp" | "recovery_code";
                /**
                 * @default verified
                 * @enum {string}
                 */
                status: "verified" | "unverified";
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
                /** Format: date-time */
                last_challenged_at?: string;
            }[];
        };
        "admin-sessions.list": {
            sessions: {
                /** @description the session id, as access tokens carry it in `session_id` */
                id: string;
                created_at: string;
                refreshed_at: string | null;
                /** @description end of the session (GOTRUE_SESSIONS_TIMEBOX), or null */
                not_after: string | null;
                /** @description browser and system, e.g. "Firefox on Linux" (no versions) */
                user_agent: string;
                /** @description the network the session started from: an IPv4 /24 or IPv6 /48 */
                ip: string;
                /**
                 * @description the assurance level the session reached: aal2 once a second factor was verified in it
                 * @default aal1
                 * @enum {string}
                 */
                aal: "aal1" | "aal2";
                /**
                 * @description the level the user can reach: aal2 when the user has a verified MFA factor (a session below it has a second step due), else aal1
                 * @default aal1
                 * @enum {string}
                 */
                next_level: "aal1" | "aal2";
                /** @description the session of the access token making the request */
                current: boolean;
            }[];
        };
        /** @description An MFA factor (supabase/auth's shape) */
        "admin-factors.factor": {
            id: string;
            friendly_name: string;
            /**
             * @default totp
             * @enum {string}
             */
            factor_type: "totp" | "recovery_code";
            /**
             * @default verified
             * @enum {string}
             */
            status: "verified" | "unverified";
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /** Format: date-time */
            last_challenged_at?: string;
        };
        "audit.list": {
            id: string;
            payload: {
                timestamp: string;
                actor_id: string;
                actor_email: string;
                actor_name?: string;
                action: string;
                log_type: string;
                traits?: {
                    [key: string]: unknown;
                };
            };
            created_at: string;
        }[];
        "admin.generateLink": {
            /** @description signup | invite | magiclink | recovery | email_change_current | email_change_new */
            type: string;
            email?: string;
            new_email?: string;
            password?: string;
            /**
             * @description a JSON object (null or absent: no change)
             * @example {
             *       "full_name": "Ada Lovelace"
             *     }
             */
            data?: unknown;
            redirect_to?: string;
        } & {
            [key: string]: unknown;
        };
        "admin.generatedLink": {
            /** Format: uuid */
            id: string;
            aud: string;
            role: string;
            /** Format: email */
            email: string;
            /** Format: date-time */
            confirmed_at?: string;
            /** Format: date-time */
            invited_at?: string;
            /** Format: date-time */
            confirmation_sent_at?: string;
            /** Format: date-time */
            recovery_sent_at?: string;
            /** Format: email */
            new_email?: string;
            /** Format: date-time */
            email_change_sent_at?: string;
            /** Format: date-time */
            last_sign_in_at?: string;
            app_metadata: {
                [key: string]: unknown;
            };
            user_metadata: {
                [key: string]: unknown;
            };
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /**
             * Format: date-time
             * @description supabase clients only: confirmed_at
             */
            email_confirmed_at?: string;
            /** @description supabase clients only: always empty (no phone sign-in) */
            phone?: string;
            /** @description supabase clients only: always false */
            is_anonymous?: boolean;
            /** @description supabase clients only: one per sign-in provider of app_metadata */
            identities?: {
                identity_id: string;
                id: string;
                user_id: string;
                provider: string;
                email: string;
                identity_data: {
                    [key: string]: unknown;
                };
                /** Format: date-time */
                last_sign_in_at?: string;
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
            }[];
            /** @description MFA factors (GET /user and sessions), only when the user has some */
            factors?: {
                id: string;
                friendly_name: string;
                /**
                 * @default totp
                 * @enum {string}
                 */
                factor_type: "totp" | "recovery_code";
                /**
                 * @default verified
                 * @enum {string}
                 */
                status: "verified" | "unverified";
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                updated_at: string;
                /** Format: date-time */
                last_challenged_at?: string;
            }[];
            action_link: string;
            hashed_token: string;
            email_otp: string;
            redirect_to: string;
            verification_type: string;
        };
        /**
         * @description GoTrue error
         * @example {
         *       "code": 422,
         *       "msg": "Signup requires a valid password"
         *     }
         */
        GoTrueError: {
            code: number;
            msg: string;
            error_id?: string;
        };
        /**
         * @description OAuth2 error
         * @example {
         *       "error": "invalid_grant",
         *       "error_description": "Invalid Refresh Token"
         *     }
         */
        OAuthError: {
            /**
             * @default invalid_grant
             * @enum {string}
             */
            error: "invalid_grant" | "invalid_request" | "unsupported_grant_type";
            error_description?: string;
        };
    };
    responses: never;
    parameters: {
        /**
         * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
         * @example api.netlify.com
         */
        "X-JWT-AUD": string;
        /**
         * @description Also set the access token as an HttpOnly cookie (GOTRUE_COOKIE_KEY); `session`: a session cookie
         * @example 1
         */
        "X-Use-Cookie": string;
        /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
        "X-NF-Sign": string;
    };
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["health.response"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getHealthLive: {
        parameters: {
            query?: never;
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["health.response"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getHealthReady: {
        parameters: {
            query?: never;
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["health.response"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getSettings: {
        parameters: {
            query?: never;
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["settings.response"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    "get.well-knownJwks.json": {
        parameters: {
            query?: never;
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description JSON Web Key Set (RFC 7517): public keys only */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["well-known.jwks"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    "get.well-knownOpenid-configuration": {
        parameters: {
            query?: never;
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OpenID Connect discovery document (the subset that locates the keys) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["well-known.discovery"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text exposition format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postSignup: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["signup.body"];
                "application/x-www-form-urlencoded": components["schemas"]["signup.body"];
                "multipart/form-data": components["schemas"]["signup.body"];
            };
        };
        responses: {
            /** @description The user. A supabase client (X-Supabase-Api-Version or apikey header) with GOTRUE_MAILER_AUTOCONFIRM on is answered a session instead: token.response with `user` and `expires_at` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                     *       "aud": "api.netlify.com",
                     *       "role": "",
                     *       "email": "ada@example.com",
                     *       "confirmed_at": "2025-03-14T09:26:53Z",
                     *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                     *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                     *       "app_metadata": {
                     *         "provider": "email"
                     *       },
                     *       "user_metadata": {
                     *         "full_name": "Ada Lovelace"
                     *       },
                     *       "created_at": "2025-03-14T09:25:10Z",
                     *       "updated_at": "2025-03-14T09:26:53Z"
                     *     }
                     */
                    "application/json": components["schemas"]["signup.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not read Signup params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "Signups not allowed for this instance"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postVerify: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Also set the access token as an HttpOnly cookie (GOTRUE_COOKIE_KEY); `session`: a session cookie
                 * @example 1
                 */
                "X-Use-Cookie"?: components["parameters"]["X-Use-Cookie"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["verify.body"];
                "application/x-www-form-urlencoded": components["schemas"]["verify.body"];
                "multipart/form-data": components["schemas"]["verify.body"];
            };
        };
        responses: {
            /** @description Access and refresh token (supabase clients: with `expires_at` and `user`) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI1ZjBjM2EyZSJ9.c2lnbmF0dXJl",
                     *       "token_type": "bearer",
                     *       "expires_in": 3600,
                     *       "refresh_token": "kXq3V9m2Yc7L0pTzR8wNfA4hJ6sDbE1u"
                     *     }
                     */
                    "application/json": components["schemas"]["verify.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not read verification params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "Signups not allowed for this instance"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postRecover: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["recover.body"];
                "application/x-www-form-urlencoded": components["schemas"]["recover.body"];
                "multipart/form-data": components["schemas"]["recover.body"];
            };
        };
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["recover.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not read verification params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postOtp: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["otp.body"];
                "application/x-www-form-urlencoded": components["schemas"]["otp.body"];
                "multipart/form-data": components["schemas"]["otp.body"];
            };
        };
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["otp.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not read verification params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postResend: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["otp.resend"];
                "application/x-www-form-urlencoded": components["schemas"]["otp.resend"];
                "multipart/form-data": components["schemas"]["otp.resend"];
            };
        };
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["otp.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not read verification params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postToken: {
        parameters: {
            query?: {
                grant_type?: string;
                username?: string;
                email?: string;
                password?: string;
                refresh_token?: string;
                code?: string;
                code_verifier?: string;
                auth_code?: string;
            };
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /**
                 * @description Also set the access token as an HttpOnly cookie (GOTRUE_COOKIE_KEY); `session`: a session cookie
                 * @example 1
                 */
                "X-Use-Cookie"?: components["parameters"]["X-Use-Cookie"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "grant_type": "password",
                 *       "username": "ada@example.com",
                 *       "password": "correct-horse-battery"
                 *     }
                 */
                "application/json": components["schemas"]["token.password"] | components["schemas"]["token.refresh_token"] | components["schemas"]["token.authorization_code"] | components["schemas"]["token.pkce"];
                /**
                 * @example {
                 *       "grant_type": "password",
                 *       "username": "ada@example.com",
                 *       "password": "correct-horse-battery"
                 *     }
                 */
                "application/x-www-form-urlencoded": components["schemas"]["token.password"] | components["schemas"]["token.refresh_token"] | components["schemas"]["token.authorization_code"] | components["schemas"]["token.pkce"];
                /**
                 * @example {
                 *       "grant_type": "password",
                 *       "username": "ada@example.com",
                 *       "password": "correct-horse-battery"
                 *     }
                 */
                "multipart/form-data": components["schemas"]["token.password"] | components["schemas"]["token.refresh_token"] | components["schemas"]["token.authorization_code"] | components["schemas"]["token.pkce"];
            };
        };
        responses: {
            /** @description Access and refresh token (supabase clients: with `expires_at` and `user`) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI1ZjBjM2EyZSJ9.c2lnbmF0dXJl",
                     *       "token_type": "bearer",
                     *       "expires_in": 3600,
                     *       "refresh_token": "kXq3V9m2Yc7L0pTzR8wNfA4hJ6sDbE1u"
                     *     }
                     */
                    "application/json": components["schemas"]["token.response"];
                };
            };
            /** @description OAuth2 error (a grant failed) or GoTrue error */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "invalid_grant",
                     *       "error_description": "Invalid Refresh Token"
                     *     }
                     */
                    "application/json": components["schemas"]["OAuthError"] | components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getUser: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A GoTrue user */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                     *       "aud": "api.netlify.com",
                     *       "role": "",
                     *       "email": "ada@example.com",
                     *       "confirmed_at": "2025-03-14T09:26:53Z",
                     *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                     *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                     *       "app_metadata": {
                     *         "provider": "email"
                     *       },
                     *       "user_metadata": {
                     *         "full_name": "Ada Lovelace"
                     *       },
                     *       "created_at": "2025-03-14T09:25:10Z",
                     *       "updated_at": "2025-03-14T09:26:53Z"
                     *     }
                     */
                    "application/json": components["schemas"]["user.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    putUser: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["user.update"];
                "application/x-www-form-urlencoded": components["schemas"]["user.update"];
                "multipart/form-data": components["schemas"]["user.update"];
            };
        };
        responses: {
            /** @description A GoTrue user (supabase clients: with supabase's extra fields) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                     *       "aud": "api.netlify.com",
                     *       "role": "",
                     *       "email": "ada@example.com",
                     *       "confirmed_at": "2025-03-14T09:26:53Z",
                     *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                     *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                     *       "app_metadata": {
                     *         "provider": "email"
                     *       },
                     *       "user_metadata": {
                     *         "full_name": "Ada Lovelace"
                     *       },
                     *       "created_at": "2025-03-14T09:25:10Z",
                     *       "updated_at": "2025-03-14T09:26:53Z"
                     *     }
                     */
                    "application/json": components["schemas"]["user.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not read User Update params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getReauthenticate: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["reauthenticate.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getUserSessions: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["sessions.list"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    deleteUserSessionsById: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ended */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    "getFactorsRecovery-codes": {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description How many recovery codes the user has left (never the codes) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["factors.recovery-status"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    "postFactorsRecovery-codes": {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    friendly_name?: string;
                };
                "application/x-www-form-urlencoded": {
                    friendly_name?: string;
                };
                "multipart/form-data": {
                    friendly_name?: string;
                };
            };
        };
        responses: {
            /** @description A new set of recovery codes, shown this once */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["factors.recovery-codes"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    "deleteFactorsRecovery-codes": {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                    };
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    "postFactorsRecovery-codesRegenerate": {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A new set of recovery codes, shown this once */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["factors.recovery-codes"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    "postFactorsRecovery-codesVerify": {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    code: string;
                };
                "application/x-www-form-urlencoded": {
                    code: string;
                };
                "multipart/form-data": {
                    code: string;
                };
            };
        };
        responses: {
            /** @description Access and refresh token (supabase clients: with `expires_at` and `user`) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI1ZjBjM2EyZSJ9.c2lnbmF0dXJl",
                     *       "token_type": "bearer",
                     *       "expires_in": 3600,
                     *       "refresh_token": "kXq3V9m2Yc7L0pTzR8wNfA4hJ6sDbE1u"
                     *     }
                     */
                    "application/json": {
                        access_token: string;
                        /** @constant */
                        token_type: "bearer";
                        expires_in: number;
                        refresh_token: string;
                        /** @description supabase clients only: when the access token expires (Unix seconds) */
                        expires_at?: number;
                        /**
                         * @description A GoTrue user (supabase clients: with supabase's extra fields)
                         * @example {
                         *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                         *       "aud": "api.netlify.com",
                         *       "role": "",
                         *       "email": "ada@example.com",
                         *       "confirmed_at": "2025-03-14T09:26:53Z",
                         *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                         *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                         *       "app_metadata": {
                         *         "provider": "email"
                         *       },
                         *       "user_metadata": {
                         *         "full_name": "Ada Lovelace"
                         *       },
                         *       "created_at": "2025-03-14T09:25:10Z",
                         *       "updated_at": "2025-03-14T09:26:53Z"
                         *     }
                         */
                        user?: {
                            /** Format: uuid */
                            id: string;
                            aud: string;
                            role: string;
                            /** Format: email */
                            email: string;
                            /** Format: date-time */
                            confirmed_at?: string;
                            /** Format: date-time */
                            invited_at?: string;
                            /** Format: date-time */
                            confirmation_sent_at?: string;
                            /** Format: date-time */
                            recovery_sent_at?: string;
                            /** Format: email */
                            new_email?: string;
                            /** Format: date-time */
                            email_change_sent_at?: string;
                            /** Format: date-time */
                            last_sign_in_at?: string;
                            app_metadata: {
                                [key: string]: unknown;
                            };
                            user_metadata: {
                                [key: string]: unknown;
                            };
                            /** Format: date-time */
                            created_at: string;
                            /** Format: date-time */
                            updated_at: string;
                            /**
                             * Format: date-time
                             * @description supabase clients only: confirmed_at
                             */
                            email_confirmed_at?: string;
                            /** @description supabase clients only: always empty (no phone sign-in) */
                            phone?: string;
                            /** @description supabase clients only: always false */
                            is_anonymous?: boolean;
                            /** @description supabase clients only: one per sign-in provider of app_metadata */
                            identities?: {
                                identity_id: string;
                                id: string;
                                user_id: string;
                                provider: string;
                                email: string;
                                identity_data: {
                                    [key: string]: unknown;
                                };
                                /** Format: date-time */
                                last_sign_in_at?: string;
                                /** Format: date-time */
                                created_at: string;
                                /** Format: date-time */
                                updated_at: string;
                            }[];
                            /** @description MFA factors (GET /user and sessions), only when the user has some */
                            factors?: {
                                id: string;
                                friendly_name: string;
                                /**
                                 * @default totp
                                 * @enum {string}
                                 */
                                factor_type: "totp" | "recovery_code";
                                /**
                                 * @default verified
                                 * @enum {string}
                                 */
                                status: "verified" | "unverified";
                                /** Format: date-time */
                                created_at: string;
                                /** Format: date-time */
                                updated_at: string;
                                /** Format: date-time */
                                last_challenged_at?: string;
                            }[];
                        };
                    };
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postFactors: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["factors.enroll"];
                "application/x-www-form-urlencoded": components["schemas"]["factors.enroll"];
                "multipart/form-data": components["schemas"]["factors.enroll"];
            };
        };
        responses: {
            /** @description A new, unverified TOTP factor: show the QR code (or the secret) once */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["factors.enrolled"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postFactorsByIdChallenge: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["factors.challenge"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postFactorsByIdVerify: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["factors.verify"];
                "application/x-www-form-urlencoded": components["schemas"]["factors.verify"];
                "multipart/form-data": components["schemas"]["factors.verify"];
            };
        };
        responses: {
            /** @description Access and refresh token (supabase clients: with `expires_at` and `user`) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI1ZjBjM2EyZSJ9.c2lnbmF0dXJl",
                     *       "token_type": "bearer",
                     *       "expires_in": 3600,
                     *       "refresh_token": "kXq3V9m2Yc7L0pTzR8wNfA4hJ6sDbE1u"
                     *     }
                     */
                    "application/json": {
                        access_token: string;
                        /** @constant */
                        token_type: "bearer";
                        expires_in: number;
                        refresh_token: string;
                        /** @description supabase clients only: when the access token expires (Unix seconds) */
                        expires_at?: number;
                        /**
                         * @description A GoTrue user (supabase clients: with supabase's extra fields)
                         * @example {
                         *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                         *       "aud": "api.netlify.com",
                         *       "role": "",
                         *       "email": "ada@example.com",
                         *       "confirmed_at": "2025-03-14T09:26:53Z",
                         *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                         *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                         *       "app_metadata": {
                         *         "provider": "email"
                         *       },
                         *       "user_metadata": {
                         *         "full_name": "Ada Lovelace"
                         *       },
                         *       "created_at": "2025-03-14T09:25:10Z",
                         *       "updated_at": "2025-03-14T09:26:53Z"
                         *     }
                         */
                        user?: {
                            /** Format: uuid */
                            id: string;
                            aud: string;
                            role: string;
                            /** Format: email */
                            email: string;
                            /** Format: date-time */
                            confirmed_at?: string;
                            /** Format: date-time */
                            invited_at?: string;
                            /** Format: date-time */
                            confirmation_sent_at?: string;
                            /** Format: date-time */
                            recovery_sent_at?: string;
                            /** Format: email */
                            new_email?: string;
                            /** Format: date-time */
                            email_change_sent_at?: string;
                            /** Format: date-time */
                            last_sign_in_at?: string;
                            app_metadata: {
                                [key: string]: unknown;
                            };
                            user_metadata: {
                                [key: string]: unknown;
                            };
                            /** Format: date-time */
                            created_at: string;
                            /** Format: date-time */
                            updated_at: string;
                            /**
                             * Format: date-time
                             * @description supabase clients only: confirmed_at
                             */
                            email_confirmed_at?: string;
                            /** @description supabase clients only: always empty (no phone sign-in) */
                            phone?: string;
                            /** @description supabase clients only: always false */
                            is_anonymous?: boolean;
                            /** @description supabase clients only: one per sign-in provider of app_metadata */
                            identities?: {
                                identity_id: string;
                                id: string;
                                user_id: string;
                                provider: string;
                                email: string;
                                identity_data: {
                                    [key: string]: unknown;
                                };
                                /** Format: date-time */
                                last_sign_in_at?: string;
                                /** Format: date-time */
                                created_at: string;
                                /** Format: date-time */
                                updated_at: string;
                            }[];
                            /** @description MFA factors (GET /user and sessions), only when the user has some */
                            factors?: {
                                id: string;
                                friendly_name: string;
                                /**
                                 * @default totp
                                 * @enum {string}
                                 */
                                factor_type: "totp" | "recovery_code";
                                /**
                                 * @default verified
                                 * @enum {string}
                                 */
                                status: "verified" | "unverified";
                                /** Format: date-time */
                                created_at: string;
                                /** Format: date-time */
                                updated_at: string;
                                /** Format: date-time */
                                last_challenged_at?: string;
                            }[];
                        };
                    };
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required to verify a new factor"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    deleteFactorsById: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                    };
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postLogout: {
        parameters: {
            query?: {
                scope?: string;
            };
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Logged out (the access-token cookie cleared) */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postInvite: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["invite.body"];
                "application/x-www-form-urlencoded": components["schemas"]["invite.body"];
                "multipart/form-data": components["schemas"]["invite.body"];
            };
        };
        responses: {
            /** @description A GoTrue user (supabase clients: with supabase's extra fields) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                     *       "aud": "api.netlify.com",
                     *       "role": "",
                     *       "email": "ada@example.com",
                     *       "confirmed_at": "2025-03-14T09:26:53Z",
                     *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                     *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                     *       "app_metadata": {
                     *         "provider": "email"
                     *       },
                     *       "user_metadata": {
                     *         "full_name": "Ada Lovelace"
                     *       },
                     *       "created_at": "2025-03-14T09:25:10Z",
                     *       "updated_at": "2025-03-14T09:26:53Z"
                     *     }
                     */
                    "application/json": components["schemas"]["invite.response"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not read Invite params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Rate limited (see Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 429,
                     *       "msg": "Rate limit exceeded, try again later"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getAuthorize: {
        parameters: {
            query?: {
                provider?: string;
                invite_token?: string;
                redirect_to?: string;
                code_challenge?: string;
                code_challenge_method?: string;
            };
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Redirect to the provider */
            302: {
                headers: {
                    /** @description Where the browser goes next */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getCallback: {
        parameters: {
            query?: {
                state?: string;
                code?: string;
                error?: string;
                error_description?: string;
            };
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Redirect to the site with the session (or ?code=, or #error=); a sign-in held for its confirmation mail lands with nothing and sets the HttpOnly cookie that binds the mail to this browser */
            302: {
                headers: {
                    /** @description Where the browser goes next */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postCallback: {
        parameters: {
            query?: {
                state?: string;
                code?: string;
                error?: string;
                error_description?: string;
            };
            header?: {
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    state?: string;
                    code?: string;
                    error?: string;
                    error_description?: string;
                } & {
                    [key: string]: unknown;
                };
                "application/x-www-form-urlencoded": {
                    state?: string;
                    code?: string;
                    error?: string;
                    error_description?: string;
                } & {
                    [key: string]: unknown;
                };
                "multipart/form-data": {
                    state?: string;
                    code?: string;
                    error?: string;
                    error_description?: string;
                } & {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description Redirect to the site with the session (or ?code=, or #error=); a sign-in held for its confirmation mail lands with nothing and sets the HttpOnly cookie that binds the mail to this browser */
            302: {
                headers: {
                    /** @description Where the browser goes next */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getAdminUsers: {
        parameters: {
            query?: {
                page?: string;
                per_page?: string;
                sort?: string;
                filter?: string;
                email?: string;
                cursor?: string;
            };
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["admin.users"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postAdminUsers: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["admin.user"];
                "application/x-www-form-urlencoded": components["schemas"]["admin.user"];
                "multipart/form-data": components["schemas"]["admin.user"];
            };
        };
        responses: {
            /** @description A GoTrue user (supabase clients: with supabase's extra fields) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                     *       "aud": "api.netlify.com",
                     *       "role": "",
                     *       "email": "ada@example.com",
                     *       "confirmed_at": "2025-03-14T09:26:53Z",
                     *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                     *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                     *       "app_metadata": {
                     *         "provider": "email"
                     *       },
                     *       "user_metadata": {
                     *         "full_name": "Ada Lovelace"
                     *       },
                     *       "created_at": "2025-03-14T09:25:10Z",
                     *       "updated_at": "2025-03-14T09:26:53Z"
                     *     }
                     */
                    "application/json": components["schemas"]["admin.userOut"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not decode admin user params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getAdminUsersExport: {
        parameters: {
            query?: {
                all?: string;
            };
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every user of the audience with its password hash, as the import reads it (users.json, streamed) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        users: {
                            /** Format: uuid */
                            id: string;
                            aud: string;
                            role: string;
                            /** Format: email */
                            email: string;
                            /** Format: date-time */
                            confirmed_at?: string;
                            /** Format: date-time */
                            invited_at?: string;
                            /** Format: date-time */
                            confirmation_sent_at?: string;
                            /** Format: date-time */
                            recovery_sent_at?: string;
                            /** Format: email */
                            new_email?: string;
                            /** Format: date-time */
                            email_change_sent_at?: string;
                            /** Format: date-time */
                            last_sign_in_at?: string;
                            app_metadata: {
                                [key: string]: unknown;
                            };
                            user_metadata: {
                                [key: string]: unknown;
                            };
                            /** Format: date-time */
                            created_at: string;
                            /** Format: date-time */
                            updated_at: string;
                            /**
                             * Format: date-time
                             * @description supabase clients only: confirmed_at
                             */
                            email_confirmed_at?: string;
                            /** @description supabase clients only: always empty (no phone sign-in) */
                            phone?: string;
                            /** @description supabase clients only: always false */
                            is_anonymous?: boolean;
                            /** @description supabase clients only: one per sign-in provider of app_metadata */
                            identities?: {
                                identity_id: string;
                                id: string;
                                user_id: string;
                                provider: string;
                                email: string;
                                identity_data: {
                                    [key: string]: unknown;
                                };
                                /** Format: date-time */
                                last_sign_in_at?: string;
                                /** Format: date-time */
                                created_at: string;
                                /** Format: date-time */
                                updated_at: string;
                            }[];
                            /** @description MFA factors (GET /user and sessions), only when the user has some */
                            factors?: {
                                id: string;
                                friendly_name: string;
                                /**
                                 * @default totp
                                 * @enum {string}
                                 */
                                factor_type: "totp" | "recovery_code";
                                /**
                                 * @default verified
                                 * @enum {string}
                                 */
                                status: "verified" | "unverified";
                                /** Format: date-time */
                                created_at: string;
                                /** Format: date-time */
                                updated_at: string;
                                /** Format: date-time */
                                last_challenged_at?: string;
                            }[];
                            /** @constant */
                            is_super_admin?: true;
                            /** @description bcrypt hash */
                            encrypted_password: string;
                        }[];
                        aud: string;
                    };
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "user_id must be an UUID"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "Invalid export secret"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getAdminUsersByUser_id: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A GoTrue user (supabase clients: with supabase's extra fields) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                     *       "aud": "api.netlify.com",
                     *       "role": "",
                     *       "email": "ada@example.com",
                     *       "confirmed_at": "2025-03-14T09:26:53Z",
                     *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                     *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                     *       "app_metadata": {
                     *         "provider": "email"
                     *       },
                     *       "user_metadata": {
                     *         "full_name": "Ada Lovelace"
                     *       },
                     *       "created_at": "2025-03-14T09:25:10Z",
                     *       "updated_at": "2025-03-14T09:26:53Z"
                     *     }
                     */
                    "application/json": components["schemas"]["admin.userOut"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    putAdminUsersByUser_id: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["admin.user"];
                "application/x-www-form-urlencoded": components["schemas"]["admin.user"];
                "multipart/form-data": components["schemas"]["admin.user"];
            };
        };
        responses: {
            /** @description A GoTrue user (supabase clients: with supabase's extra fields) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13",
                     *       "aud": "api.netlify.com",
                     *       "role": "",
                     *       "email": "ada@example.com",
                     *       "confirmed_at": "2025-03-14T09:26:53Z",
                     *       "confirmation_sent_at": "2025-03-14T09:25:10Z",
                     *       "last_sign_in_at": "2025-03-14T09:26:53Z",
                     *       "app_metadata": {
                     *         "provider": "email"
                     *       },
                     *       "user_metadata": {
                     *         "full_name": "Ada Lovelace"
                     *       },
                     *       "created_at": "2025-03-14T09:25:10Z",
                     *       "updated_at": "2025-03-14T09:26:53Z"
                     *     }
                     */
                    "application/json": components["schemas"]["admin.userOut"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not decode admin user params: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    deleteAdminUsersByUser_id: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getAdminUsersByUser_idSessions: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["admin-sessions.list"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    deleteAdminUsersByUser_idSessions: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ended */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    deleteAdminUsersByUser_idSessionsBySession_id: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                user_id: string;
                session_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ended */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getAdminUsersByUser_idFactors: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                        friendly_name: string;
                        /**
                         * @default totp
                         * @enum {string}
                         */
                        factor_type: "totp" | "recovery_code";
                        /**
                         * @default verified
                         * @enum {string}
                         */
                        status: "verified" | "unverified";
                        /** Format: date-time */
                        created_at: string;
                        /** Format: date-time */
                        updated_at: string;
                        /** Format: date-time */
                        last_challenged_at?: string;
                    }[];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    deleteAdminUsersByUser_idFactorsByFactor_id: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path: {
                user_id: string;
                factor_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An MFA factor (supabase/auth's shape) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["admin-factors.factor"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Invalid body: email: Expected string"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    getAdminAudit: {
        parameters: {
            query?: {
                page?: string;
                per_page?: string;
                query?: string;
            };
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["audit.list"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Token audience doesn't match request audience"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
    postAdminGenerate_link: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The request audience (default GOTRUE_JWT_AUD); at most 255 characters
                 * @example api.netlify.com
                 */
                "X-JWT-AUD"?: components["parameters"]["X-JWT-AUD"];
                /** @description Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise */
                "X-NF-Sign"?: components["parameters"]["X-NF-Sign"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["admin.generateLink"];
                "application/x-www-form-urlencoded": components["schemas"]["admin.generateLink"];
                "multipart/form-data": components["schemas"]["admin.generateLink"];
            };
        };
        responses: {
            /** @description Response for status 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["admin.generatedLink"];
                };
            };
            /** @description Bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 400,
                     *       "msg": "Could not read body: EOF"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Missing or invalid credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 401,
                     *       "msg": "This endpoint requires a Bearer token"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 403,
                     *       "msg": "AAL2 required"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 404,
                     *       "msg": "User not found"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Request body over GOTRUE_API_MAX_BODY_BYTES */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 413,
                     *       "msg": "Request body too large (limit 1048576 bytes)"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Invalid request */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 422,
                     *       "msg": "Signup requires a valid password"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Internal error (the cause is logged under error_id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 500,
                     *       "msg": "Internal server error",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
            /** @description Database unreachable (see Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": 503,
                     *       "msg": "Database temporarily unavailable",
                     *       "error_id": "7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90"
                     *     }
                     */
                    "application/json": components["schemas"]["GoTrueError"];
                };
            };
        };
    };
}
