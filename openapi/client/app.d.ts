// Generated from app.ts by `bun run openapi` (tsc declaration emit). Do not edit.
// Eden's `App` for a frontend with only `elysia` installed: import type { App } from '@gotrue-bun/client/app'
import { Elysia } from 'elysia';
export declare function createApp(deps: unknown): Elysia<"", {
    decorator: {};
    store: {};
    derive: {};
    resolve: {};
}, {
    typebox: {};
    error: {};
} & {
    typebox: {};
    error: {};
} & {
    typebox: {
        readonly 'health.response': import("@sinclair/typebox").TObject<{
            description: import("@sinclair/typebox").TString;
            name: import("@sinclair/typebox").TString;
            version: import("@sinclair/typebox").TString;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'settings.response': import("@sinclair/typebox").TObject<{
            external: import("@sinclair/typebox").TObject<{
                bitbucket: import("@sinclair/typebox").TBoolean;
                github: import("@sinclair/typebox").TBoolean;
                gitlab: import("@sinclair/typebox").TBoolean;
                google: import("@sinclair/typebox").TBoolean;
                facebook: import("@sinclair/typebox").TBoolean;
                email: import("@sinclair/typebox").TBoolean;
                saml: import("@sinclair/typebox").TBoolean;
            }>;
            external_labels: import("@sinclair/typebox").TObject<{
                saml: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            }>;
            disable_signup: import("@sinclair/typebox").TBoolean;
            autoconfirm: import("@sinclair/typebox").TBoolean;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'well-known.jwks': import("@sinclair/typebox").TObject<{
            keys: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                kty: import("@sinclair/typebox").TString;
                kid: import("@sinclair/typebox").TString;
                alg: import("@sinclair/typebox").TString;
                use: import("@sinclair/typebox").TString;
                key_ops: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TString>;
                n: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                e: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                crv: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                x: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                y: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            }>>;
        }>;
        readonly 'well-known.discovery': import("@sinclair/typebox").TObject<{
            issuer: import("@sinclair/typebox").TString;
            jwks_uri: import("@sinclair/typebox").TString;
            token_endpoint: import("@sinclair/typebox").TString;
            userinfo_endpoint: import("@sinclair/typebox").TString;
            grant_types_supported: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TString>;
            response_types_supported: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TString>;
            subject_types_supported: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TString>;
            id_token_signing_alg_values_supported: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TString>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'signup.body': import("@sinclair/typebox").TObject<{
            code_challenge: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>>;
            code_challenge_method: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>>;
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            password: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            data: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
        }>;
        readonly 'signup.response': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            aud: import("@sinclair/typebox").TString;
            role: import("@sinclair/typebox").TString;
            email: import("@sinclair/typebox").TString;
            confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            invited_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            confirmation_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            recovery_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email_change_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            app_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            user_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            created_at: import("@sinclair/typebox").TString;
            updated_at: import("@sinclair/typebox").TString;
            email_confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            is_anonymous: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
            identities: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                identity_id: import("@sinclair/typebox").TString;
                id: import("@sinclair/typebox").TString;
                user_id: import("@sinclair/typebox").TString;
                provider: import("@sinclair/typebox").TString;
                email: import("@sinclair/typebox").TString;
                identity_data: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
            }>>>;
            factors: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                friendly_name: import("@sinclair/typebox").TString;
                factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
                status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
                last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            }>>>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'verify.body': import("@sinclair/typebox").TObject<{
            type: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            token: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            password: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            token_hash: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
        readonly 'verify.response': import("@sinclair/typebox").TObject<{
            access_token: import("@sinclair/typebox").TString;
            token_type: import("@sinclair/typebox").TLiteral<"bearer">;
            expires_in: import("@sinclair/typebox").TInteger;
            refresh_token: import("@sinclair/typebox").TString;
            expires_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TInteger>;
            user: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                aud: import("@sinclair/typebox").TString;
                role: import("@sinclair/typebox").TString;
                email: import("@sinclair/typebox").TString;
                confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                invited_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                confirmation_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                recovery_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                email_change_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                app_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                user_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
                email_confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                is_anonymous: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
                identities: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                    identity_id: import("@sinclair/typebox").TString;
                    id: import("@sinclair/typebox").TString;
                    user_id: import("@sinclair/typebox").TString;
                    provider: import("@sinclair/typebox").TString;
                    email: import("@sinclair/typebox").TString;
                    identity_data: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                    last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                    created_at: import("@sinclair/typebox").TString;
                    updated_at: import("@sinclair/typebox").TString;
                }>>>;
                factors: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                    id: import("@sinclair/typebox").TString;
                    friendly_name: import("@sinclair/typebox").TString;
                    factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
                    status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
                    created_at: import("@sinclair/typebox").TString;
                    updated_at: import("@sinclair/typebox").TString;
                    last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                }>>>;
            }>>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'recover.body': import("@sinclair/typebox").TObject<{
            code_challenge: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>>;
            code_challenge_method: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>>;
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
        readonly 'recover.response': import("@sinclair/typebox").TObject<{}>;
    };
    error: {};
} & {
    typebox: {
        readonly 'otp.body': import("@sinclair/typebox").TObject<{
            code_challenge: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>>;
            code_challenge_method: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>>;
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            create_user: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
            data: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
        }>;
        readonly 'otp.resend': import("@sinclair/typebox").TObject<{
            code_challenge: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>>;
            code_challenge_method: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>>;
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            type: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
        readonly 'otp.response': import("@sinclair/typebox").TObject<{}>;
    };
    error: {};
} & {
    typebox: {
        readonly 'token.password': import("@sinclair/typebox").TObject<{
            grant_type: import("@sinclair/typebox").TLiteral<"password">;
        }>;
        readonly 'token.refresh_token': import("@sinclair/typebox").TObject<{
            grant_type: import("@sinclair/typebox").TLiteral<"refresh_token">;
        }>;
        readonly 'token.authorization_code': import("@sinclair/typebox").TObject<{
            grant_type: import("@sinclair/typebox").TLiteral<"authorization_code">;
        }>;
        readonly 'token.pkce': import("@sinclair/typebox").TObject<{
            grant_type: import("@sinclair/typebox").TLiteral<"pkce">;
        }>;
        readonly 'token.form': import("@sinclair/typebox").TObject<{
            grant_type: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            username: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            password: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            refresh_token: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            code: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            code_verifier: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            auth_code: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
        readonly 'token.response': import("@sinclair/typebox").TObject<{
            access_token: import("@sinclair/typebox").TString;
            token_type: import("@sinclair/typebox").TLiteral<"bearer">;
            expires_in: import("@sinclair/typebox").TInteger;
            refresh_token: import("@sinclair/typebox").TString;
            expires_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TInteger>;
            user: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                aud: import("@sinclair/typebox").TString;
                role: import("@sinclair/typebox").TString;
                email: import("@sinclair/typebox").TString;
                confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                invited_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                confirmation_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                recovery_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                email_change_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                app_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                user_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
                email_confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                is_anonymous: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
                identities: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                    identity_id: import("@sinclair/typebox").TString;
                    id: import("@sinclair/typebox").TString;
                    user_id: import("@sinclair/typebox").TString;
                    provider: import("@sinclair/typebox").TString;
                    email: import("@sinclair/typebox").TString;
                    identity_data: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                    last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                    created_at: import("@sinclair/typebox").TString;
                    updated_at: import("@sinclair/typebox").TString;
                }>>>;
                factors: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                    id: import("@sinclair/typebox").TString;
                    friendly_name: import("@sinclair/typebox").TString;
                    factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
                    status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
                    created_at: import("@sinclair/typebox").TString;
                    updated_at: import("@sinclair/typebox").TString;
                    last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                }>>>;
            }>>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'user.response': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            aud: import("@sinclair/typebox").TString;
            role: import("@sinclair/typebox").TString;
            email: import("@sinclair/typebox").TString;
            confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            invited_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            confirmation_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            recovery_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email_change_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            app_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            user_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            created_at: import("@sinclair/typebox").TString;
            updated_at: import("@sinclair/typebox").TString;
            email_confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            is_anonymous: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
            identities: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                identity_id: import("@sinclair/typebox").TString;
                id: import("@sinclair/typebox").TString;
                user_id: import("@sinclair/typebox").TString;
                provider: import("@sinclair/typebox").TString;
                email: import("@sinclair/typebox").TString;
                identity_data: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
            }>>>;
            factors: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                friendly_name: import("@sinclair/typebox").TString;
                factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
                status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
                last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            }>>>;
        }>;
        readonly 'user.update': import("@sinclair/typebox").TObject<{
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            password: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email_change_token: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            nonce: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            data: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
            app_metadata: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'reauthenticate.response': import("@sinclair/typebox").TObject<{}>;
    };
    error: {};
} & {
    typebox: {
        readonly 'sessions.session': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            created_at: import("@sinclair/typebox").TString;
            refreshed_at: import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>;
            not_after: import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>;
            user_agent: import("@sinclair/typebox").TString;
            ip: import("@sinclair/typebox").TString;
            aal: import("elysia/type-system/types").TUnionEnum<["aal1", "aal2"]>;
            next_level: import("elysia/type-system/types").TUnionEnum<["aal1", "aal2"]>;
            current: import("@sinclair/typebox").TBoolean;
        }>;
        readonly 'sessions.list': import("@sinclair/typebox").TObject<{
            sessions: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                created_at: import("@sinclair/typebox").TString;
                refreshed_at: import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>;
                not_after: import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>;
                user_agent: import("@sinclair/typebox").TString;
                ip: import("@sinclair/typebox").TString;
                aal: import("elysia/type-system/types").TUnionEnum<["aal1", "aal2"]>;
                next_level: import("elysia/type-system/types").TUnionEnum<["aal1", "aal2"]>;
                current: import("@sinclair/typebox").TBoolean;
            }>>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'factors.recovery-status': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            type: import("@sinclair/typebox").TLiteral<"recovery_code">;
            total: import("@sinclair/typebox").TInteger;
            remaining: import("@sinclair/typebox").TInteger;
        }>;
        readonly 'factors.recovery-codes': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            type: import("@sinclair/typebox").TLiteral<"recovery_code">;
            friendly_name: import("@sinclair/typebox").TString;
            total: import("@sinclair/typebox").TInteger;
            codes: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TString>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'factors.enroll': import("@sinclair/typebox").TObject<{
            factor_type: import("@sinclair/typebox").TString;
            friendly_name: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            issuer: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
        readonly 'factors.enrolled': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            type: import("@sinclair/typebox").TLiteral<"totp">;
            friendly_name: import("@sinclair/typebox").TString;
            totp: import("@sinclair/typebox").TObject<{
                qr_code: import("@sinclair/typebox").TString;
                secret: import("@sinclair/typebox").TString;
                uri: import("@sinclair/typebox").TString;
            }>;
        }>;
        readonly 'factors.challenge': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            type: import("@sinclair/typebox").TLiteral<"totp">;
            expires_at: import("@sinclair/typebox").TInteger;
        }>;
        readonly 'factors.verify': import("@sinclair/typebox").TObject<{
            challenge_id: import("@sinclair/typebox").TString;
            code: import("@sinclair/typebox").TString;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'invite.body': import("@sinclair/typebox").TObject<{
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            data: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
        }>;
        readonly 'invite.response': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            aud: import("@sinclair/typebox").TString;
            role: import("@sinclair/typebox").TString;
            email: import("@sinclair/typebox").TString;
            confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            invited_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            confirmation_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            recovery_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email_change_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            app_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            user_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            created_at: import("@sinclair/typebox").TString;
            updated_at: import("@sinclair/typebox").TString;
            email_confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            is_anonymous: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
            identities: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                identity_id: import("@sinclair/typebox").TString;
                id: import("@sinclair/typebox").TString;
                user_id: import("@sinclair/typebox").TString;
                provider: import("@sinclair/typebox").TString;
                email: import("@sinclair/typebox").TString;
                identity_data: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
            }>>>;
            factors: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                friendly_name: import("@sinclair/typebox").TString;
                factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
                status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
                last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            }>>>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'external.authorize': import("@sinclair/typebox").TObject<{
            provider: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            invite_token: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            redirect_to: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            code_challenge: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            code_challenge_method: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'external.callback': import("@sinclair/typebox").TObject<{
            state: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            code: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            error: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            error_description: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'admin.user': import("@sinclair/typebox").TObject<{
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            password: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            password_hash: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            aud: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            role: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            confirm: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
            email_confirm: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
            user_metadata: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
            app_metadata: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
        }>;
        readonly 'admin.users': import("@sinclair/typebox").TObject<{
            users: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                aud: import("@sinclair/typebox").TString;
                role: import("@sinclair/typebox").TString;
                email: import("@sinclair/typebox").TString;
                confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                invited_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                confirmation_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                recovery_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                email_change_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                app_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                user_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
                email_confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                is_anonymous: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
                identities: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                    identity_id: import("@sinclair/typebox").TString;
                    id: import("@sinclair/typebox").TString;
                    user_id: import("@sinclair/typebox").TString;
                    provider: import("@sinclair/typebox").TString;
                    email: import("@sinclair/typebox").TString;
                    identity_data: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                    last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                    created_at: import("@sinclair/typebox").TString;
                    updated_at: import("@sinclair/typebox").TString;
                }>>>;
                factors: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                    id: import("@sinclair/typebox").TString;
                    friendly_name: import("@sinclair/typebox").TString;
                    factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
                    status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
                    created_at: import("@sinclair/typebox").TString;
                    updated_at: import("@sinclair/typebox").TString;
                    last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                }>>>;
            }>>;
            aud: import("@sinclair/typebox").TString;
        }>;
        readonly 'admin.list': import("@sinclair/typebox").TObject<{
            page: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            per_page: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            sort: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            filter: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            cursor: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
        readonly 'admin.userOut': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            aud: import("@sinclair/typebox").TString;
            role: import("@sinclair/typebox").TString;
            email: import("@sinclair/typebox").TString;
            confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            invited_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            confirmation_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            recovery_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email_change_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            app_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            user_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            created_at: import("@sinclair/typebox").TString;
            updated_at: import("@sinclair/typebox").TString;
            email_confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            is_anonymous: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
            identities: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                identity_id: import("@sinclair/typebox").TString;
                id: import("@sinclair/typebox").TString;
                user_id: import("@sinclair/typebox").TString;
                provider: import("@sinclair/typebox").TString;
                email: import("@sinclair/typebox").TString;
                identity_data: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
            }>>>;
            factors: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                friendly_name: import("@sinclair/typebox").TString;
                factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
                status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
                last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            }>>>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'admin-sessions.list': import("@sinclair/typebox").TObject<{
            sessions: import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                created_at: import("@sinclair/typebox").TString;
                refreshed_at: import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>;
                not_after: import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TString, import("@sinclair/typebox").TNull]>;
                user_agent: import("@sinclair/typebox").TString;
                ip: import("@sinclair/typebox").TString;
                aal: import("elysia/type-system/types").TUnionEnum<["aal1", "aal2"]>;
                next_level: import("elysia/type-system/types").TUnionEnum<["aal1", "aal2"]>;
                current: import("@sinclair/typebox").TBoolean;
            }>>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'admin-factors.factor': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            friendly_name: import("@sinclair/typebox").TString;
            factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
            status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
            created_at: import("@sinclair/typebox").TString;
            updated_at: import("@sinclair/typebox").TString;
            last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'audit.list': import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            payload: import("@sinclair/typebox").TObject<{
                timestamp: import("@sinclair/typebox").TString;
                actor_id: import("@sinclair/typebox").TString;
                actor_email: import("@sinclair/typebox").TString;
                actor_name: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                action: import("@sinclair/typebox").TString;
                log_type: import("@sinclair/typebox").TString;
                traits: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>>;
            }>;
            created_at: import("@sinclair/typebox").TString;
        }>>;
        readonly 'audit.query': import("@sinclair/typebox").TObject<{
            page: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            per_page: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            query: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'admin.generateLink': import("@sinclair/typebox").TObject<{
            type: import("@sinclair/typebox").TString;
            email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            password: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            data: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
            redirect_to: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
        readonly 'admin.generatedLink': import("@sinclair/typebox").TObject<{
            action_link: import("@sinclair/typebox").TString;
            hashed_token: import("@sinclair/typebox").TString;
            email_otp: import("@sinclair/typebox").TString;
            redirect_to: import("@sinclair/typebox").TString;
            verification_type: import("@sinclair/typebox").TString;
            id: import("@sinclair/typebox").TString;
            aud: import("@sinclair/typebox").TString;
            role: import("@sinclair/typebox").TString;
            email: import("@sinclair/typebox").TString;
            confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            invited_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            confirmation_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            recovery_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            new_email: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            email_change_sent_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            app_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            user_metadata: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
            created_at: import("@sinclair/typebox").TString;
            updated_at: import("@sinclair/typebox").TString;
            email_confirmed_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            phone: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            is_anonymous: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TBoolean>;
            identities: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                identity_id: import("@sinclair/typebox").TString;
                id: import("@sinclair/typebox").TString;
                user_id: import("@sinclair/typebox").TString;
                provider: import("@sinclair/typebox").TString;
                email: import("@sinclair/typebox").TString;
                identity_data: import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>;
                last_sign_in_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
            }>>>;
            factors: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TArray<import("@sinclair/typebox").TObject<{
                id: import("@sinclair/typebox").TString;
                friendly_name: import("@sinclair/typebox").TString;
                factor_type: import("elysia/type-system/types").TUnionEnum<["totp", "recovery_code"]>;
                status: import("elysia/type-system/types").TUnionEnum<["verified", "unverified"]>;
                created_at: import("@sinclair/typebox").TString;
                updated_at: import("@sinclair/typebox").TString;
                last_challenged_at: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            }>>>;
        }>;
    };
    error: {};
}, {
    schema: {};
    standaloneSchema: {};
    macro: {};
    macroFn: {};
    parser: {};
    response: {};
} & {
    schema: {};
    standaloneSchema: {};
    macro: {};
    macroFn: {};
    parser: {};
    response: {
        200: Response;
    };
} & {
    schema: {};
    standaloneSchema: {};
    macro: {};
    macroFn: {};
    parser: {};
    response: {};
} & {
    schema: {};
    standaloneSchema: {};
    macro: Partial<{
        readonly auth: "user" | "admin";
    }>;
    macroFn: {
        readonly auth: (kind: "user" | "admin") => {
            readonly detail: {};
            readonly resolve: ({ request }: {
                body: unknown;
                query: Record<string, string>;
                params: {};
                headers: Record<string, string | undefined>;
                cookie: Record<string, import("elysia").Cookie<unknown>>;
                server: import("elysia/universal/server").Server | null;
                redirect: import("elysia").redirect;
                set: {
                    headers: import("elysia").HTTPHeaders;
                    status?: number | keyof import("elysia").StatusMap;
                    redirect?: string;
                    cookie?: Record<string, import("elysia/cookies").ElysiaCookie>;
                };
                path: string;
                route: string;
                request: Request;
                store: {};
                status: <const Code extends number | keyof import("elysia").StatusMap, const T = Code extends 400 | 422 | 401 | 403 | 404 | 429 | 500 | 503 | 413 | 204 | 302 | 300 | 100 | 200 | 202 | 502 | 504 | 409 | 201 | 303 | 101 | 102 | 103 | 203 | 205 | 206 | 207 | 208 | 301 | 304 | 307 | 308 | 402 | 405 | 406 | 407 | 408 | 410 | 411 | 412 | 414 | 415 | 416 | 417 | 418 | 420 | 421 | 423 | 424 | 425 | 426 | 428 | 431 | 451 | 501 | 505 | 506 | 507 | 508 | 510 | 511 ? {
                    readonly 100: "Continue";
                    readonly 101: "Switching Protocols";
                    readonly 102: "Processing";
                    readonly 103: "Early Hints";
                    readonly 200: "OK";
                    readonly 201: "Created";
                    readonly 202: "Accepted";
                    readonly 203: "Non-Authoritative Information";
                    readonly 204: "No Content";
                    readonly 205: "Reset Content";
                    readonly 206: "Partial Content";
                    readonly 207: "Multi-Status";
                    readonly 208: "Already Reported";
                    readonly 300: "Multiple Choices";
                    readonly 301: "Moved Permanently";
                    readonly 302: "Found";
                    readonly 303: "See Other";
                    readonly 304: "Not Modified";
                    readonly 307: "Temporary Redirect";
                    readonly 308: "Permanent Redirect";
                    readonly 400: "Bad Request";
                    readonly 401: "Unauthorized";
                    readonly 402: "Payment Required";
                    readonly 403: "Forbidden";
                    readonly 404: "Not Found";
                    readonly 405: "Method Not Allowed";
                    readonly 406: "Not Acceptable";
                    readonly 407: "Proxy Authentication Required";
                    readonly 408: "Request Timeout";
                    readonly 409: "Conflict";
                    readonly 410: "Gone";
                    readonly 411: "Length Required";
                    readonly 412: "Precondition Failed";
                    readonly 413: "Payload Too Large";
                    readonly 414: "URI Too Long";
                    readonly 415: "Unsupported Media Type";
                    readonly 416: "Range Not Satisfiable";
                    readonly 417: "Expectation Failed";
                    readonly 418: "I'm a teapot";
                    readonly 420: "Enhance Your Calm";
                    readonly 421: "Misdirected Request";
                    readonly 422: "Unprocessable Content";
                    readonly 423: "Locked";
                    readonly 424: "Failed Dependency";
                    readonly 425: "Too Early";
                    readonly 426: "Upgrade Required";
                    readonly 428: "Precondition Required";
                    readonly 429: "Too Many Requests";
                    readonly 431: "Request Header Fields Too Large";
                    readonly 451: "Unavailable For Legal Reasons";
                    readonly 500: "Internal Server Error";
                    readonly 501: "Not Implemented";
                    readonly 502: "Bad Gateway";
                    readonly 503: "Service Unavailable";
                    readonly 504: "Gateway Timeout";
                    readonly 505: "HTTP Version Not Supported";
                    readonly 506: "Variant Also Negotiates";
                    readonly 507: "Insufficient Storage";
                    readonly 508: "Loop Detected";
                    readonly 510: "Not Extended";
                    readonly 511: "Network Authentication Required";
                }[Code] : Code>(code: Code, response?: T) => import("elysia").ElysiaCustomStatusResponse<Code, T, Code extends "Continue" | "Switching Protocols" | "Processing" | "Early Hints" | "OK" | "Created" | "Accepted" | "Non-Authoritative Information" | "No Content" | "Reset Content" | "Partial Content" | "Multi-Status" | "Already Reported" | "Multiple Choices" | "Moved Permanently" | "Found" | "See Other" | "Not Modified" | "Temporary Redirect" | "Permanent Redirect" | "Bad Request" | "Unauthorized" | "Payment Required" | "Forbidden" | "Not Found" | "Method Not Allowed" | "Not Acceptable" | "Proxy Authentication Required" | "Request Timeout" | "Conflict" | "Gone" | "Length Required" | "Precondition Failed" | "Payload Too Large" | "URI Too Long" | "Unsupported Media Type" | "Range Not Satisfiable" | "Expectation Failed" | "I'm a teapot" | "Enhance Your Calm" | "Misdirected Request" | "Unprocessable Content" | "Locked" | "Failed Dependency" | "Too Early" | "Upgrade Required" | "Precondition Required" | "Too Many Requests" | "Request Header Fields Too Large" | "Unavailable For Legal Reasons" | "Internal Server Error" | "Not Implemented" | "Bad Gateway" | "Service Unavailable" | "Gateway Timeout" | "HTTP Version Not Supported" | "Variant Also Negotiates" | "Insufficient Storage" | "Loop Detected" | "Not Extended" | "Network Authentication Required" ? {
                    readonly Continue: 100;
                    readonly "Switching Protocols": 101;
                    readonly Processing: 102;
                    readonly "Early Hints": 103;
                    readonly OK: 200;
                    readonly Created: 201;
                    readonly Accepted: 202;
                    readonly "Non-Authoritative Information": 203;
                    readonly "No Content": 204;
                    readonly "Reset Content": 205;
                    readonly "Partial Content": 206;
                    readonly "Multi-Status": 207;
                    readonly "Already Reported": 208;
                    readonly "Multiple Choices": 300;
                    readonly "Moved Permanently": 301;
                    readonly Found: 302;
                    readonly "See Other": 303;
                    readonly "Not Modified": 304;
                    readonly "Temporary Redirect": 307;
                    readonly "Permanent Redirect": 308;
                    readonly "Bad Request": 400;
                    readonly Unauthorized: 401;
                    readonly "Payment Required": 402;
                    readonly Forbidden: 403;
                    readonly "Not Found": 404;
                    readonly "Method Not Allowed": 405;
                    readonly "Not Acceptable": 406;
                    readonly "Proxy Authentication Required": 407;
                    readonly "Request Timeout": 408;
                    readonly Conflict: 409;
                    readonly Gone: 410;
                    readonly "Length Required": 411;
                    readonly "Precondition Failed": 412;
                    readonly "Payload Too Large": 413;
                    readonly "URI Too Long": 414;
                    readonly "Unsupported Media Type": 415;
                    readonly "Range Not Satisfiable": 416;
                    readonly "Expectation Failed": 417;
                    readonly "I'm a teapot": 418;
                    readonly "Enhance Your Calm": 420;
                    readonly "Misdirected Request": 421;
                    readonly "Unprocessable Content": 422;
                    readonly Locked: 423;
                    readonly "Failed Dependency": 424;
                    readonly "Too Early": 425;
                    readonly "Upgrade Required": 426;
                    readonly "Precondition Required": 428;
                    readonly "Too Many Requests": 429;
                    readonly "Request Header Fields Too Large": 431;
                    readonly "Unavailable For Legal Reasons": 451;
                    readonly "Internal Server Error": 500;
                    readonly "Not Implemented": 501;
                    readonly "Bad Gateway": 502;
                    readonly "Service Unavailable": 503;
                    readonly "Gateway Timeout": 504;
                    readonly "HTTP Version Not Supported": 505;
                    readonly "Variant Also Negotiates": 506;
                    readonly "Insufficient Storage": 507;
                    readonly "Loop Detected": 508;
                    readonly "Not Extended": 510;
                    readonly "Network Authentication Required": 511;
                }[Code] : Code>;
            }) => Promise<{
                claims: AccessClaims;
                admin: AdminActor | null;
                aud: string;
            } | {
                claims: AccessClaims | null;
                admin: AdminActor;
                aud: string;
            }>;
        };
    };
    parser: {};
    response: {};
}, (((((((((((((((((((({
    openapi: {
        json: {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    200: Response;
                };
            };
        };
    };
} & {
    openapi: {
        assets: {
            ":file": {
                get: {
                    body: unknown;
                    params: {
                        file: string;
                    } & {};
                    query: unknown;
                    headers: unknown;
                    response: {
                        422: {
                            type: "validation";
                            on: string;
                            summary?: string;
                            message?: string;
                            found?: unknown;
                            property?: string;
                            expected?: string;
                        };
                        200: Blob;
                    };
                };
            };
        };
    };
} & {
    health: {
        get: {
            body: unknown;
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                422: {
                    type: "validation";
                    on: string;
                    summary?: string;
                    message?: string;
                    found?: unknown;
                    property?: string;
                    expected?: string;
                };
                503: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    description: string;
                    version: string;
                    name: string;
                };
            };
        };
    };
} & {
    health: {
        live: {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    200: {
                        description: string;
                        version: string;
                        name: string;
                    };
                };
            };
        };
    };
} & ({
    health: {
        ready: {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    503: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        description: string;
                        version: string;
                        name: string;
                    };
                };
            };
        };
    };
} & {
    settings: {
        get: {
            body: unknown;
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                422: {
                    type: "validation";
                    on: string;
                    summary?: string;
                    message?: string;
                    found?: unknown;
                    property?: string;
                    expected?: string;
                };
                200: {
                    external: {
                        bitbucket: boolean;
                        github: boolean;
                        gitlab: boolean;
                        google: boolean;
                        facebook: boolean;
                        email: boolean;
                        saml: boolean;
                    };
                    disable_signup: boolean;
                    autoconfirm: boolean;
                    external_labels: {
                        saml?: string | undefined;
                    };
                };
            };
        };
    };
} & ({
    ".well-known": {
        "jwks.json": {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    200: {
                        keys: {
                            x?: string | undefined;
                            n?: string | undefined;
                            e?: string | undefined;
                            crv?: string | undefined;
                            y?: string | undefined;
                            kid: string;
                            alg: string;
                            kty: string;
                            key_ops: string[];
                            use: string;
                        }[];
                    };
                };
            };
        };
    };
} & ({
    ".well-known": {
        "openid-configuration": {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    200: {
                        issuer: string;
                        jwks_uri: string;
                        token_endpoint: string;
                        userinfo_endpoint: string;
                        grant_types_supported: string[];
                        response_types_supported: string[];
                        subject_types_supported: string[];
                        id_token_signing_alg_values_supported: string[];
                    };
                };
            };
        };
    };
} | ({
    ".well-known": {
        "openid-configuration": {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    200: {
                        issuer: string;
                        jwks_uri: string;
                        token_endpoint: string;
                        userinfo_endpoint: string;
                        grant_types_supported: string[];
                        response_types_supported: string[];
                        subject_types_supported: string[];
                        id_token_signing_alg_values_supported: string[];
                    };
                };
            };
        };
    };
} & {
    metrics: {
        get: {
            body: unknown;
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                422: {
                    type: "validation";
                    on: string;
                    summary?: string;
                    message?: string;
                    found?: unknown;
                    property?: string;
                    expected?: string;
                };
                401: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: string;
            };
        };
    };
}))))) & {
    signup: {
        post: {
            body: {
                password?: string | undefined;
                email?: string | undefined;
                code_challenge?: string | null | undefined;
                code_challenge_method?: string | null | undefined;
                data?: unknown;
            };
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                403: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                500: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    last_sign_in_at?: string | undefined;
                    confirmed_at?: string | undefined;
                    invited_at?: string | undefined;
                    confirmation_sent_at?: string | undefined;
                    recovery_sent_at?: string | undefined;
                    new_email?: string | undefined;
                    email_change_sent_at?: string | undefined;
                    email_confirmed_at?: string | undefined;
                    phone?: string | undefined;
                    is_anonymous?: boolean | undefined;
                    identities?: {
                        last_sign_in_at?: string | undefined;
                        provider: string;
                        email: string;
                        identity_id: string;
                        id: string;
                        user_id: string;
                        identity_data: {
                            [x: string]: unknown;
                        };
                        created_at: string;
                        updated_at: string;
                    }[] | undefined;
                    factors?: {
                        last_challenged_at?: string | undefined;
                        status: "verified" | "unverified";
                        id: string;
                        created_at: string;
                        updated_at: string;
                        friendly_name: string;
                        factor_type: "totp" | "recovery_code";
                    }[] | undefined;
                    aud: string;
                    email: string;
                    app_metadata: {
                        [x: string]: unknown;
                    };
                    user_metadata: {
                        [x: string]: unknown;
                    };
                    id: string;
                    created_at: string;
                    updated_at: string;
                    role: string;
                };
            };
        };
    };
}) & {
    verify: {
        post: {
            body: {
                type?: string | undefined;
                token?: string | undefined;
                password?: string | undefined;
                email?: string | undefined;
                token_hash?: string | undefined;
            };
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                403: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                404: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    user?: {
                        last_sign_in_at?: string | undefined;
                        confirmed_at?: string | undefined;
                        invited_at?: string | undefined;
                        confirmation_sent_at?: string | undefined;
                        recovery_sent_at?: string | undefined;
                        new_email?: string | undefined;
                        email_change_sent_at?: string | undefined;
                        email_confirmed_at?: string | undefined;
                        phone?: string | undefined;
                        is_anonymous?: boolean | undefined;
                        identities?: {
                            last_sign_in_at?: string | undefined;
                            provider: string;
                            email: string;
                            identity_id: string;
                            id: string;
                            user_id: string;
                            identity_data: {
                                [x: string]: unknown;
                            };
                            created_at: string;
                            updated_at: string;
                        }[] | undefined;
                        factors?: {
                            last_challenged_at?: string | undefined;
                            status: "verified" | "unverified";
                            id: string;
                            created_at: string;
                            updated_at: string;
                            friendly_name: string;
                            factor_type: "totp" | "recovery_code";
                        }[] | undefined;
                        aud: string;
                        email: string;
                        app_metadata: {
                            [x: string]: unknown;
                        };
                        user_metadata: {
                            [x: string]: unknown;
                        };
                        id: string;
                        created_at: string;
                        updated_at: string;
                        role: string;
                    } | undefined;
                    expires_at?: number | undefined;
                    refresh_token: string;
                    access_token: string;
                    token_type: "bearer";
                    expires_in: number;
                };
            };
        };
    };
}) & {
    account: {
        "style.css": {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    200: string;
                };
            };
        };
    };
} & {
    [x: string]: {
        get: {
            body: unknown;
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                200: string;
            };
        };
    };
} & {
    [x: string]: {
        post: {
            body: unknown;
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                200: string;
            };
        };
    };
}) & {
    recover: {
        post: {
            body: {
                email?: string | undefined;
                code_challenge?: string | null | undefined;
                code_challenge_method?: string | null | undefined;
            };
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {};
            };
        };
    };
}) & {
    otp: {
        post: {
            body: {
                email?: string | undefined;
                code_challenge?: string | null | undefined;
                code_challenge_method?: string | null | undefined;
                data?: unknown;
                create_user?: boolean | undefined;
            };
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {};
            };
        };
    };
} & {
    resend: {
        post: {
            body: {
                type?: string | undefined;
                email?: string | undefined;
                code_challenge?: string | null | undefined;
                code_challenge_method?: string | null | undefined;
            };
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {};
            };
        };
    };
}) & {
    token: {
        post: {
            body: Partial<{
                code?: string | undefined;
                password?: string | undefined;
                email?: string | undefined;
                grant_type?: string | undefined;
                refresh_token?: string | undefined;
                username?: string | undefined;
                code_verifier?: string | undefined;
                auth_code?: string | undefined;
            }> | null;
            params: {};
            query: {
                code?: string | undefined;
                password?: string | undefined;
                email?: string | undefined;
                grant_type?: string | undefined;
                refresh_token?: string | undefined;
                username?: string | undefined;
                code_verifier?: string | undefined;
                auth_code?: string | undefined;
            };
            headers: unknown;
            response: {
                400: {
                    error_description?: string | undefined;
                    error: "invalid_grant" | "invalid_request" | "unsupported_grant_type";
                } | {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                404: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                500: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    user?: {
                        last_sign_in_at?: string | undefined;
                        confirmed_at?: string | undefined;
                        invited_at?: string | undefined;
                        confirmation_sent_at?: string | undefined;
                        recovery_sent_at?: string | undefined;
                        new_email?: string | undefined;
                        email_change_sent_at?: string | undefined;
                        email_confirmed_at?: string | undefined;
                        phone?: string | undefined;
                        is_anonymous?: boolean | undefined;
                        identities?: {
                            last_sign_in_at?: string | undefined;
                            provider: string;
                            email: string;
                            identity_id: string;
                            id: string;
                            user_id: string;
                            identity_data: {
                                [x: string]: unknown;
                            };
                            created_at: string;
                            updated_at: string;
                        }[] | undefined;
                        factors?: {
                            last_challenged_at?: string | undefined;
                            status: "verified" | "unverified";
                            id: string;
                            created_at: string;
                            updated_at: string;
                            friendly_name: string;
                            factor_type: "totp" | "recovery_code";
                        }[] | undefined;
                        aud: string;
                        email: string;
                        app_metadata: {
                            [x: string]: unknown;
                        };
                        user_metadata: {
                            [x: string]: unknown;
                        };
                        id: string;
                        created_at: string;
                        updated_at: string;
                        role: string;
                    } | undefined;
                    expires_at?: number | undefined;
                    refresh_token: string;
                    access_token: string;
                    token_type: "bearer";
                    expires_in: number;
                };
            };
        };
    };
}) & {
    user: {
        get: {
            body: {};
            params: {};
            query: {};
            headers: {};
            response: {
                200: {
                    last_sign_in_at?: string | undefined;
                    confirmed_at?: string | undefined;
                    invited_at?: string | undefined;
                    confirmation_sent_at?: string | undefined;
                    recovery_sent_at?: string | undefined;
                    new_email?: string | undefined;
                    email_change_sent_at?: string | undefined;
                    email_confirmed_at?: string | undefined;
                    phone?: string | undefined;
                    is_anonymous?: boolean | undefined;
                    identities?: {
                        last_sign_in_at?: string | undefined;
                        provider: string;
                        email: string;
                        identity_id: string;
                        id: string;
                        user_id: string;
                        identity_data: {
                            [x: string]: unknown;
                        };
                        created_at: string;
                        updated_at: string;
                    }[] | undefined;
                    factors?: {
                        last_challenged_at?: string | undefined;
                        status: "verified" | "unverified";
                        id: string;
                        created_at: string;
                        updated_at: string;
                        friendly_name: string;
                        factor_type: "totp" | "recovery_code";
                    }[] | undefined;
                    aud: string;
                    email: string;
                    app_metadata: {
                        [x: string]: unknown;
                    };
                    user_metadata: {
                        [x: string]: unknown;
                    };
                    id: string;
                    created_at: string;
                    updated_at: string;
                    role: string;
                };
            };
        };
    };
} & {
    user: {
        put: {
            body: {
                password?: string | undefined;
                email?: string | undefined;
                email_change_token?: string | undefined;
                app_metadata?: unknown;
                data?: unknown;
                nonce?: string | undefined;
            };
            params: {};
            query: {};
            headers: {};
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                401: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                403: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                404: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                500: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    last_sign_in_at?: string | undefined;
                    confirmed_at?: string | undefined;
                    invited_at?: string | undefined;
                    confirmation_sent_at?: string | undefined;
                    recovery_sent_at?: string | undefined;
                    new_email?: string | undefined;
                    email_change_sent_at?: string | undefined;
                    email_confirmed_at?: string | undefined;
                    phone?: string | undefined;
                    is_anonymous?: boolean | undefined;
                    identities?: {
                        last_sign_in_at?: string | undefined;
                        provider: string;
                        email: string;
                        identity_id: string;
                        id: string;
                        user_id: string;
                        identity_data: {
                            [x: string]: unknown;
                        };
                        created_at: string;
                        updated_at: string;
                    }[] | undefined;
                    factors?: {
                        last_challenged_at?: string | undefined;
                        status: "verified" | "unverified";
                        id: string;
                        created_at: string;
                        updated_at: string;
                        friendly_name: string;
                        factor_type: "totp" | "recovery_code";
                    }[] | undefined;
                    aud: string;
                    email: string;
                    app_metadata: {
                        [x: string]: unknown;
                    };
                    user_metadata: {
                        [x: string]: unknown;
                    };
                    id: string;
                    created_at: string;
                    updated_at: string;
                    role: string;
                };
            };
        };
    };
}) & {
    reauthenticate: {
        get: {
            body: {};
            params: {};
            query: {};
            headers: {};
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                401: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                404: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                500: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {};
            };
        };
    };
}) & {
    user: {
        sessions: {
            get: {
                body: {};
                params: {};
                query: {};
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        sessions: {
                            id: string;
                            created_at: string;
                            aal: "aal2" | "aal1";
                            refreshed_at: string | null;
                            not_after: string | null;
                            user_agent: string;
                            ip: string;
                            next_level: "aal2" | "aal1";
                            current: boolean;
                        }[];
                    };
                };
            };
        };
    };
} & {
    user: {
        sessions: {
            ":id": {
                delete: {
                    body: {};
                    params: {
                        id: string;
                    };
                    query: {};
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            type: "validation";
                            on: string;
                            summary?: string;
                            message?: string;
                            found?: unknown;
                            property?: string;
                            expected?: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        404: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        204: void;
                        200: Response;
                    };
                };
            };
        };
    };
}) & {
    factors: {
        "recovery-codes": {
            get: {
                body: {};
                params: {};
                query: {};
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        type: "recovery_code";
                        id: string;
                        total: number;
                        remaining: number;
                    };
                };
            };
        };
    };
} & {
    factors: {
        "recovery-codes": {
            post: {
                body: {
                    friendly_name?: string | undefined;
                } | null;
                params: {};
                query: {};
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    403: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        type: "recovery_code";
                        id: string;
                        friendly_name: string;
                        total: number;
                        codes: string[];
                    };
                };
            };
        };
    };
} & {
    factors: {
        "recovery-codes": {
            regenerate: {
                post: {
                    body: {};
                    params: {};
                    query: {};
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        403: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        404: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        200: {
                            type: "recovery_code";
                            id: string;
                            friendly_name: string;
                            total: number;
                            codes: string[];
                        };
                    };
                };
            };
        };
    };
} & {
    factors: {
        "recovery-codes": {
            delete: {
                body: {};
                params: {};
                query: {};
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    403: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        id: string;
                    };
                };
            };
        };
    };
} & {
    factors: {
        "recovery-codes": {
            verify: {
                post: {
                    body: {
                        code: string;
                    };
                    params: {};
                    query: {};
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        404: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        429: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        200: {
                            user?: {
                                last_sign_in_at?: string | undefined;
                                confirmed_at?: string | undefined;
                                invited_at?: string | undefined;
                                confirmation_sent_at?: string | undefined;
                                recovery_sent_at?: string | undefined;
                                new_email?: string | undefined;
                                email_change_sent_at?: string | undefined;
                                email_confirmed_at?: string | undefined;
                                phone?: string | undefined;
                                is_anonymous?: boolean | undefined;
                                identities?: {
                                    last_sign_in_at?: string | undefined;
                                    provider: string;
                                    email: string;
                                    identity_id: string;
                                    id: string;
                                    user_id: string;
                                    identity_data: {
                                        [x: string]: unknown;
                                    };
                                    created_at: string;
                                    updated_at: string;
                                }[] | undefined;
                                factors?: {
                                    last_challenged_at?: string | undefined;
                                    status: "verified" | "unverified";
                                    id: string;
                                    created_at: string;
                                    updated_at: string;
                                    friendly_name: string;
                                    factor_type: "totp" | "recovery_code";
                                }[] | undefined;
                                aud: string;
                                email: string;
                                app_metadata: {
                                    [x: string]: unknown;
                                };
                                user_metadata: {
                                    [x: string]: unknown;
                                };
                                id: string;
                                created_at: string;
                                updated_at: string;
                                role: string;
                            } | undefined;
                            expires_at?: number | undefined;
                            refresh_token: string;
                            access_token: string;
                            token_type: "bearer";
                            expires_in: number;
                        };
                    };
                };
            };
        };
    };
}) & {
    factors: {
        post: {
            body: {
                issuer?: string | undefined;
                friendly_name?: string | undefined;
                phone?: string | undefined;
                factor_type: string;
            };
            params: {};
            query: {};
            headers: {};
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                401: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                403: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                404: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    type: "totp";
                    id: string;
                    friendly_name: string;
                    totp: {
                        uri: string;
                        secret: string;
                        qr_code: string;
                    };
                };
            };
        };
    };
} & {
    factors: {
        ":id": {
            challenge: {
                post: {
                    body: {};
                    params: {
                        id: string;
                    };
                    query: {};
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        404: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        429: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        200: {
                            type: "totp";
                            id: string;
                            expires_at: number;
                        };
                    };
                };
            };
        };
    };
} & {
    factors: {
        ":id": {
            verify: {
                post: {
                    body: {
                        code: string;
                        challenge_id: string;
                    };
                    params: {
                        id: string;
                    };
                    query: {};
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        403: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        404: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        429: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        200: {
                            user?: {
                                last_sign_in_at?: string | undefined;
                                confirmed_at?: string | undefined;
                                invited_at?: string | undefined;
                                confirmation_sent_at?: string | undefined;
                                recovery_sent_at?: string | undefined;
                                new_email?: string | undefined;
                                email_change_sent_at?: string | undefined;
                                email_confirmed_at?: string | undefined;
                                phone?: string | undefined;
                                is_anonymous?: boolean | undefined;
                                identities?: {
                                    last_sign_in_at?: string | undefined;
                                    provider: string;
                                    email: string;
                                    identity_id: string;
                                    id: string;
                                    user_id: string;
                                    identity_data: {
                                        [x: string]: unknown;
                                    };
                                    created_at: string;
                                    updated_at: string;
                                }[] | undefined;
                                factors?: {
                                    last_challenged_at?: string | undefined;
                                    status: "verified" | "unverified";
                                    id: string;
                                    created_at: string;
                                    updated_at: string;
                                    friendly_name: string;
                                    factor_type: "totp" | "recovery_code";
                                }[] | undefined;
                                aud: string;
                                email: string;
                                app_metadata: {
                                    [x: string]: unknown;
                                };
                                user_metadata: {
                                    [x: string]: unknown;
                                };
                                id: string;
                                created_at: string;
                                updated_at: string;
                                role: string;
                            } | undefined;
                            expires_at?: number | undefined;
                            refresh_token: string;
                            access_token: string;
                            token_type: "bearer";
                            expires_in: number;
                        };
                    };
                };
            };
        };
    };
} & {
    factors: {
        ":id": {
            delete: {
                body: {};
                params: {
                    id: string;
                };
                query: {};
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    403: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        id: string;
                    };
                };
            };
        };
    };
}) & {
    logout: {
        post: {
            body: {};
            params: {};
            query: {
                scope?: string | undefined;
            };
            headers: {};
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    type: "validation";
                    on: string;
                    summary?: string;
                    message?: string;
                    found?: unknown;
                    property?: string;
                    expected?: string;
                };
                401: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                204: void;
                200: Response;
            };
        };
    };
}) & {
    invite: {
        post: {
            body: {
                email?: string | undefined;
                data?: unknown;
            };
            params: {};
            query: {};
            headers: {};
            response: {
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                401: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                429: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                500: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    last_sign_in_at?: string | undefined;
                    confirmed_at?: string | undefined;
                    invited_at?: string | undefined;
                    confirmation_sent_at?: string | undefined;
                    recovery_sent_at?: string | undefined;
                    new_email?: string | undefined;
                    email_change_sent_at?: string | undefined;
                    email_confirmed_at?: string | undefined;
                    phone?: string | undefined;
                    is_anonymous?: boolean | undefined;
                    identities?: {
                        last_sign_in_at?: string | undefined;
                        provider: string;
                        email: string;
                        identity_id: string;
                        id: string;
                        user_id: string;
                        identity_data: {
                            [x: string]: unknown;
                        };
                        created_at: string;
                        updated_at: string;
                    }[] | undefined;
                    factors?: {
                        last_challenged_at?: string | undefined;
                        status: "verified" | "unverified";
                        id: string;
                        created_at: string;
                        updated_at: string;
                        friendly_name: string;
                        factor_type: "totp" | "recovery_code";
                    }[] | undefined;
                    aud: string;
                    email: string;
                    app_metadata: {
                        [x: string]: unknown;
                    };
                    user_metadata: {
                        [x: string]: unknown;
                    };
                    id: string;
                    created_at: string;
                    updated_at: string;
                    role: string;
                };
            };
        };
    };
}) & {
    authorize: {
        get: {
            body: unknown;
            params: {};
            query: {
                provider?: string | undefined;
                invite_token?: string | undefined;
                redirect_to?: string | undefined;
                code_challenge?: string | undefined;
                code_challenge_method?: string | undefined;
            };
            headers: unknown;
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                404: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                302: void;
                200: Response;
            };
        };
    };
}) & {
    callback: {
        get: {
            body: unknown;
            params: {};
            query: {
                code?: string | undefined;
                error?: string | undefined;
                error_description?: string | undefined;
                state?: string | undefined;
            };
            headers: unknown;
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    type: "validation";
                    on: string;
                    summary?: string;
                    message?: string;
                    found?: unknown;
                    property?: string;
                    expected?: string;
                };
                302: void;
                200: Response;
            };
        };
    };
} & {
    callback: {
        post: {
            body: Partial<{
                code?: string | undefined;
                error?: string | undefined;
                error_description?: string | undefined;
                state?: string | undefined;
            }> | null;
            params: {};
            query: {
                code?: string | undefined;
                error?: string | undefined;
                error_description?: string | undefined;
                state?: string | undefined;
            };
            headers: unknown;
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    type: "validation";
                    on: string;
                    summary?: string;
                    message?: string;
                    found?: unknown;
                    property?: string;
                    expected?: string;
                };
                302: void;
                200: Response;
            };
        };
    };
}) & {
    admin: {
        users: {
            get: {
                body: {};
                params: {};
                query: {
                    sort?: string | undefined;
                    filter?: string | undefined;
                    email?: string | undefined;
                    page?: string | undefined;
                    per_page?: string | undefined;
                    cursor?: string | undefined;
                };
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        aud: string;
                        users: {
                            last_sign_in_at?: string | undefined;
                            confirmed_at?: string | undefined;
                            invited_at?: string | undefined;
                            confirmation_sent_at?: string | undefined;
                            recovery_sent_at?: string | undefined;
                            new_email?: string | undefined;
                            email_change_sent_at?: string | undefined;
                            email_confirmed_at?: string | undefined;
                            phone?: string | undefined;
                            is_anonymous?: boolean | undefined;
                            identities?: {
                                last_sign_in_at?: string | undefined;
                                provider: string;
                                email: string;
                                identity_id: string;
                                id: string;
                                user_id: string;
                                identity_data: {
                                    [x: string]: unknown;
                                };
                                created_at: string;
                                updated_at: string;
                            }[] | undefined;
                            factors?: {
                                last_challenged_at?: string | undefined;
                                status: "verified" | "unverified";
                                id: string;
                                created_at: string;
                                updated_at: string;
                                friendly_name: string;
                                factor_type: "totp" | "recovery_code";
                            }[] | undefined;
                            aud: string;
                            email: string;
                            app_metadata: {
                                [x: string]: unknown;
                            };
                            user_metadata: {
                                [x: string]: unknown;
                            };
                            id: string;
                            created_at: string;
                            updated_at: string;
                            role: string;
                        }[];
                    };
                };
            };
        };
    };
} & {
    admin: {
        users: {
            export: {
                get: {
                    body: {};
                    params: {};
                    query: {
                        all?: string | undefined;
                    };
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            type: "validation";
                            on: string;
                            summary?: string;
                            message?: string;
                            found?: unknown;
                            property?: string;
                            expected?: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        200: {
                            aud: string;
                            users: {
                                last_sign_in_at?: string | undefined;
                                confirmed_at?: string | undefined;
                                invited_at?: string | undefined;
                                confirmation_sent_at?: string | undefined;
                                recovery_sent_at?: string | undefined;
                                new_email?: string | undefined;
                                email_change_sent_at?: string | undefined;
                                email_confirmed_at?: string | undefined;
                                phone?: string | undefined;
                                is_anonymous?: boolean | undefined;
                                identities?: {
                                    last_sign_in_at?: string | undefined;
                                    provider: string;
                                    email: string;
                                    identity_id: string;
                                    id: string;
                                    user_id: string;
                                    identity_data: {
                                        [x: string]: unknown;
                                    };
                                    created_at: string;
                                    updated_at: string;
                                }[] | undefined;
                                factors?: {
                                    last_challenged_at?: string | undefined;
                                    status: "verified" | "unverified";
                                    id: string;
                                    created_at: string;
                                    updated_at: string;
                                    friendly_name: string;
                                    factor_type: "totp" | "recovery_code";
                                }[] | undefined;
                                is_super_admin?: true | undefined;
                                aud: string;
                                email: string;
                                app_metadata: {
                                    [x: string]: unknown;
                                };
                                user_metadata: {
                                    [x: string]: unknown;
                                };
                                id: string;
                                created_at: string;
                                updated_at: string;
                                role: string;
                                encrypted_password: string;
                            }[];
                        };
                    };
                };
            };
        };
    };
} & {
    admin: {
        users: {
            post: {
                body: {
                    aud?: string | undefined;
                    password?: string | undefined;
                    email?: string | undefined;
                    confirm?: boolean | undefined;
                    app_metadata?: unknown;
                    user_metadata?: unknown;
                    role?: string | undefined;
                    password_hash?: string | undefined;
                    email_confirm?: boolean | undefined;
                };
                params: {};
                query: {};
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        last_sign_in_at?: string | undefined;
                        confirmed_at?: string | undefined;
                        invited_at?: string | undefined;
                        confirmation_sent_at?: string | undefined;
                        recovery_sent_at?: string | undefined;
                        new_email?: string | undefined;
                        email_change_sent_at?: string | undefined;
                        email_confirmed_at?: string | undefined;
                        phone?: string | undefined;
                        is_anonymous?: boolean | undefined;
                        identities?: {
                            last_sign_in_at?: string | undefined;
                            provider: string;
                            email: string;
                            identity_id: string;
                            id: string;
                            user_id: string;
                            identity_data: {
                                [x: string]: unknown;
                            };
                            created_at: string;
                            updated_at: string;
                        }[] | undefined;
                        factors?: {
                            last_challenged_at?: string | undefined;
                            status: "verified" | "unverified";
                            id: string;
                            created_at: string;
                            updated_at: string;
                            friendly_name: string;
                            factor_type: "totp" | "recovery_code";
                        }[] | undefined;
                        aud: string;
                        email: string;
                        app_metadata: {
                            [x: string]: unknown;
                        };
                        user_metadata: {
                            [x: string]: unknown;
                        };
                        id: string;
                        created_at: string;
                        updated_at: string;
                        role: string;
                    };
                };
            };
        };
    };
} & {
    admin: {
        users: {
            ":user_id": {
                get: {
                    body: {};
                    params: {
                        user_id: string;
                    };
                    query: {};
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            type: "validation";
                            on: string;
                            summary?: string;
                            message?: string;
                            found?: unknown;
                            property?: string;
                            expected?: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        404: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        200: {
                            last_sign_in_at?: string | undefined;
                            confirmed_at?: string | undefined;
                            invited_at?: string | undefined;
                            confirmation_sent_at?: string | undefined;
                            recovery_sent_at?: string | undefined;
                            new_email?: string | undefined;
                            email_change_sent_at?: string | undefined;
                            email_confirmed_at?: string | undefined;
                            phone?: string | undefined;
                            is_anonymous?: boolean | undefined;
                            identities?: {
                                last_sign_in_at?: string | undefined;
                                provider: string;
                                email: string;
                                identity_id: string;
                                id: string;
                                user_id: string;
                                identity_data: {
                                    [x: string]: unknown;
                                };
                                created_at: string;
                                updated_at: string;
                            }[] | undefined;
                            factors?: {
                                last_challenged_at?: string | undefined;
                                status: "verified" | "unverified";
                                id: string;
                                created_at: string;
                                updated_at: string;
                                friendly_name: string;
                                factor_type: "totp" | "recovery_code";
                            }[] | undefined;
                            aud: string;
                            email: string;
                            app_metadata: {
                                [x: string]: unknown;
                            };
                            user_metadata: {
                                [x: string]: unknown;
                            };
                            id: string;
                            created_at: string;
                            updated_at: string;
                            role: string;
                        };
                    };
                };
            };
        };
    };
} & {
    admin: {
        users: {
            ":user_id": {
                put: {
                    body: {
                        aud?: string | undefined;
                        password?: string | undefined;
                        email?: string | undefined;
                        confirm?: boolean | undefined;
                        app_metadata?: unknown;
                        user_metadata?: unknown;
                        role?: string | undefined;
                        password_hash?: string | undefined;
                        email_confirm?: boolean | undefined;
                    };
                    params: {
                        user_id: string;
                    };
                    query: {};
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        404: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        200: {
                            last_sign_in_at?: string | undefined;
                            confirmed_at?: string | undefined;
                            invited_at?: string | undefined;
                            confirmation_sent_at?: string | undefined;
                            recovery_sent_at?: string | undefined;
                            new_email?: string | undefined;
                            email_change_sent_at?: string | undefined;
                            email_confirmed_at?: string | undefined;
                            phone?: string | undefined;
                            is_anonymous?: boolean | undefined;
                            identities?: {
                                last_sign_in_at?: string | undefined;
                                provider: string;
                                email: string;
                                identity_id: string;
                                id: string;
                                user_id: string;
                                identity_data: {
                                    [x: string]: unknown;
                                };
                                created_at: string;
                                updated_at: string;
                            }[] | undefined;
                            factors?: {
                                last_challenged_at?: string | undefined;
                                status: "verified" | "unverified";
                                id: string;
                                created_at: string;
                                updated_at: string;
                                friendly_name: string;
                                factor_type: "totp" | "recovery_code";
                            }[] | undefined;
                            aud: string;
                            email: string;
                            app_metadata: {
                                [x: string]: unknown;
                            };
                            user_metadata: {
                                [x: string]: unknown;
                            };
                            id: string;
                            created_at: string;
                            updated_at: string;
                            role: string;
                        };
                    };
                };
            };
        };
    };
} & {
    admin: {
        users: {
            ":user_id": {
                delete: {
                    body: {};
                    params: {
                        user_id: string;
                    };
                    query: {};
                    headers: {};
                    response: {
                        400: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        422: {
                            type: "validation";
                            on: string;
                            summary?: string;
                            message?: string;
                            found?: unknown;
                            property?: string;
                            expected?: string;
                        };
                        401: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        404: {
                            error_id?: string | undefined;
                            code: number;
                            msg: string;
                        };
                        200: {};
                    };
                };
            };
        };
    };
}) & {
    admin: {
        users: {
            ":user_id": {
                sessions: {
                    get: {
                        body: {};
                        params: {
                            user_id: string;
                        };
                        query: {};
                        headers: {};
                        response: {
                            400: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            422: {
                                type: "validation";
                                on: string;
                                summary?: string;
                                message?: string;
                                found?: unknown;
                                property?: string;
                                expected?: string;
                            };
                            401: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            404: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            200: {
                                sessions: {
                                    id: string;
                                    created_at: string;
                                    aal: "aal2" | "aal1";
                                    refreshed_at: string | null;
                                    not_after: string | null;
                                    user_agent: string;
                                    ip: string;
                                    next_level: "aal2" | "aal1";
                                    current: boolean;
                                }[];
                            };
                        };
                    };
                };
            };
        };
    };
} & {
    admin: {
        users: {
            ":user_id": {
                sessions: {
                    delete: {
                        body: {};
                        params: {
                            user_id: string;
                        };
                        query: {};
                        headers: {};
                        response: {
                            400: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            422: {
                                type: "validation";
                                on: string;
                                summary?: string;
                                message?: string;
                                found?: unknown;
                                property?: string;
                                expected?: string;
                            };
                            401: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            404: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            204: void;
                            200: Response;
                        };
                    };
                };
            };
        };
    };
} & {
    admin: {
        users: {
            ":user_id": {
                sessions: {
                    ":session_id": {
                        delete: {
                            body: {};
                            params: {
                                session_id: string;
                                user_id: string;
                            };
                            query: {};
                            headers: {};
                            response: {
                                400: {
                                    error_id?: string | undefined;
                                    code: number;
                                    msg: string;
                                };
                                422: {
                                    type: "validation";
                                    on: string;
                                    summary?: string;
                                    message?: string;
                                    found?: unknown;
                                    property?: string;
                                    expected?: string;
                                };
                                401: {
                                    error_id?: string | undefined;
                                    code: number;
                                    msg: string;
                                };
                                404: {
                                    error_id?: string | undefined;
                                    code: number;
                                    msg: string;
                                };
                                204: void;
                                200: Response;
                            };
                        };
                    };
                };
            };
        };
    };
}) & {
    admin: {
        users: {
            ":user_id": {
                factors: {
                    get: {
                        body: {};
                        params: {
                            user_id: string;
                        };
                        query: {};
                        headers: {};
                        response: {
                            400: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            422: {
                                type: "validation";
                                on: string;
                                summary?: string;
                                message?: string;
                                found?: unknown;
                                property?: string;
                                expected?: string;
                            };
                            401: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            404: {
                                error_id?: string | undefined;
                                code: number;
                                msg: string;
                            };
                            200: {
                                last_challenged_at?: string | undefined;
                                status: "verified" | "unverified";
                                id: string;
                                created_at: string;
                                updated_at: string;
                                friendly_name: string;
                                factor_type: "totp" | "recovery_code";
                            }[];
                        };
                    };
                };
            };
        };
    };
} & {
    admin: {
        users: {
            ":user_id": {
                factors: {
                    ":factor_id": {
                        delete: {
                            body: {};
                            params: {
                                user_id: string;
                                factor_id: string;
                            };
                            query: {};
                            headers: {};
                            response: {
                                400: {
                                    error_id?: string | undefined;
                                    code: number;
                                    msg: string;
                                };
                                422: {
                                    type: "validation";
                                    on: string;
                                    summary?: string;
                                    message?: string;
                                    found?: unknown;
                                    property?: string;
                                    expected?: string;
                                };
                                401: {
                                    error_id?: string | undefined;
                                    code: number;
                                    msg: string;
                                };
                                404: {
                                    error_id?: string | undefined;
                                    code: number;
                                    msg: string;
                                };
                                200: {
                                    last_challenged_at?: string | undefined;
                                    status: "verified" | "unverified";
                                    id: string;
                                    created_at: string;
                                    updated_at: string;
                                    friendly_name: string;
                                    factor_type: "totp" | "recovery_code";
                                };
                            };
                        };
                    };
                };
            };
        };
    };
}) & {
    admin: {
        audit: {
            get: {
                body: {};
                params: {};
                query: {
                    query?: string | undefined;
                    page?: string | undefined;
                    per_page?: string | undefined;
                };
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        payload: {
                            actor_name?: string | undefined;
                            traits?: {} | undefined;
                            timestamp: string;
                            actor_id: string;
                            actor_email: string;
                            action: string;
                            log_type: string;
                        };
                        id: string;
                        created_at: string;
                    }[];
                };
            };
        };
    };
}) & {
    admin: {
        generate_link: {
            post: {
                body: {
                    password?: string | undefined;
                    email?: string | undefined;
                    new_email?: string | undefined;
                    redirect_to?: string | undefined;
                    data?: unknown;
                    type: string;
                };
                params: {};
                query: {};
                headers: {};
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        last_sign_in_at?: string | undefined;
                        confirmed_at?: string | undefined;
                        invited_at?: string | undefined;
                        confirmation_sent_at?: string | undefined;
                        recovery_sent_at?: string | undefined;
                        new_email?: string | undefined;
                        email_change_sent_at?: string | undefined;
                        email_confirmed_at?: string | undefined;
                        phone?: string | undefined;
                        is_anonymous?: boolean | undefined;
                        identities?: {
                            last_sign_in_at?: string | undefined;
                            provider: string;
                            email: string;
                            identity_id: string;
                            id: string;
                            user_id: string;
                            identity_data: {
                                [x: string]: unknown;
                            };
                            created_at: string;
                            updated_at: string;
                        }[] | undefined;
                        factors?: {
                            last_challenged_at?: string | undefined;
                            status: "verified" | "unverified";
                            id: string;
                            created_at: string;
                            updated_at: string;
                            friendly_name: string;
                            factor_type: "totp" | "recovery_code";
                        }[] | undefined;
                        aud: string;
                        email: string;
                        app_metadata: {
                            [x: string]: unknown;
                        };
                        user_metadata: {
                            [x: string]: unknown;
                        };
                        id: string;
                        created_at: string;
                        updated_at: string;
                        role: string;
                        redirect_to: string;
                        action_link: string;
                        hashed_token: string;
                        email_otp: string;
                        verification_type: string;
                    };
                };
            };
        };
    };
}, {
    derive: {};
    resolve: {};
    schema: {};
    standaloneSchema: {};
    response: {};
}, {
    derive: {};
    resolve: {};
    schema: {};
    standaloneSchema: {};
    response: {};
} & {
    derive: {};
    resolve: {};
    schema: {};
    standaloneSchema: {};
    response: {};
}>;
export type App = ReturnType<typeof createApp>;
/** Multi-instance mode's own app: the operator API, health, metrics and docs. `changed(id)` is told when the
 *  operator changes or deletes an instance, so the dispatcher drops that instance's cached app. */
export declare function createOperatorApp(deps: unknown, opts: {
    changed(id: string): void;
}): Elysia<"", {
    decorator: {};
    store: {};
    derive: {};
    resolve: {};
}, {
    typebox: {};
    error: {};
} & {
    typebox: {};
    error: {};
} & {
    typebox: {
        readonly 'health.response': import("@sinclair/typebox").TObject<{
            description: import("@sinclair/typebox").TString;
            name: import("@sinclair/typebox").TString;
            version: import("@sinclair/typebox").TString;
        }>;
    };
    error: {};
} & {
    typebox: {
        readonly 'instances.body': import("@sinclair/typebox").TObject<{
            uuid: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            config: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TUnknown>;
        }>;
        readonly 'instances.instance': import("@sinclair/typebox").TObject<{
            id: import("@sinclair/typebox").TString;
            uuid: import("@sinclair/typebox").TString;
            config: import("@sinclair/typebox").TUnion<[import("@sinclair/typebox").TRecord<import("@sinclair/typebox").TString, import("@sinclair/typebox").TUnknown>, import("@sinclair/typebox").TNull]>;
            created_at: import("@sinclair/typebox").TString;
            updated_at: import("@sinclair/typebox").TString;
            endpoint: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
            state: import("@sinclair/typebox").TOptional<import("@sinclair/typebox").TString>;
        }>;
    };
    error: {};
}, {
    schema: {};
    standaloneSchema: {};
    macro: {};
    macroFn: {};
    parser: {};
    response: {};
} & {
    schema: {};
    standaloneSchema: {};
    macro: {};
    macroFn: {};
    parser: {};
    response: {
        200: Response;
    };
} & {
    schema: {};
    standaloneSchema: {};
    macro: {};
    macroFn: {};
    parser: {};
    response: {};
}, ({
    openapi: {
        json: {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    200: Response;
                };
            };
        };
    };
} & {
    openapi: {
        assets: {
            ":file": {
                get: {
                    body: unknown;
                    params: {
                        file: string;
                    } & {};
                    query: unknown;
                    headers: unknown;
                    response: {
                        422: {
                            type: "validation";
                            on: string;
                            summary?: string;
                            message?: string;
                            found?: unknown;
                            property?: string;
                            expected?: string;
                        };
                        200: Blob;
                    };
                };
            };
        };
    };
} & {
    health: {
        get: {
            body: unknown;
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                422: {
                    type: "validation";
                    on: string;
                    summary?: string;
                    message?: string;
                    found?: unknown;
                    property?: string;
                    expected?: string;
                };
                503: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    description: string;
                    version: string;
                    name: string;
                };
            };
        };
    };
} & ({
    health: {
        live: {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    200: {
                        description: string;
                        version: string;
                        name: string;
                    };
                };
            };
        };
    };
} & ({
    health: {
        ready: {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    503: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        description: string;
                        version: string;
                        name: string;
                    };
                };
            };
        };
    };
} | ({
    health: {
        ready: {
            get: {
                body: unknown;
                params: {};
                query: unknown;
                headers: unknown;
                response: {
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    503: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        description: string;
                        version: string;
                        name: string;
                    };
                };
            };
        };
    };
} & {
    metrics: {
        get: {
            body: unknown;
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                422: {
                    type: "validation";
                    on: string;
                    summary?: string;
                    message?: string;
                    found?: unknown;
                    property?: string;
                    expected?: string;
                };
                401: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: string;
            };
        };
    };
})))) & {
    get: {
        body: unknown;
        params: {};
        query: unknown;
        headers: unknown;
        response: {
            200: {
                description: string;
                name: string;
                version: string;
            };
        };
    };
} & {
    instances: {
        post: {
            body: {
                uuid?: string | undefined;
                config?: unknown;
            };
            params: {};
            query: unknown;
            headers: unknown;
            response: {
                400: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                422: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                401: {
                    error_id?: string | undefined;
                    code: number;
                    msg: string;
                };
                200: {
                    id: string;
                    uuid: string;
                    config: {
                        [x: string]: unknown;
                    } | null;
                    created_at: string;
                    updated_at: string;
                };
                201: {
                    endpoint?: string | undefined;
                    state?: string | undefined;
                    uuid: string;
                    id: string;
                    created_at: string;
                    updated_at: string;
                    config: {
                        [x: string]: unknown;
                    } | null;
                };
            };
        };
    };
} & {
    instances: {
        ":instance_id": {
            get: {
                body: unknown;
                params: {
                    instance_id: string;
                } & {};
                query: unknown;
                headers: unknown;
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        endpoint?: string | undefined;
                        state?: string | undefined;
                        uuid: string;
                        id: string;
                        created_at: string;
                        updated_at: string;
                        config: {
                            [x: string]: unknown;
                        } | null;
                    };
                };
            };
        };
    };
} & {
    instances: {
        ":instance_id": {
            put: {
                body: {
                    uuid?: string | undefined;
                    config?: unknown;
                };
                params: {
                    instance_id: string;
                } & {};
                query: unknown;
                headers: unknown;
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: {
                        endpoint?: string | undefined;
                        state?: string | undefined;
                        uuid: string;
                        id: string;
                        created_at: string;
                        updated_at: string;
                        config: {
                            [x: string]: unknown;
                        } | null;
                    };
                };
            };
        };
    };
} & {
    instances: {
        ":instance_id": {
            delete: {
                body: unknown;
                params: {
                    instance_id: string;
                } & {};
                query: unknown;
                headers: unknown;
                response: {
                    400: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    422: {
                        type: "validation";
                        on: string;
                        summary?: string;
                        message?: string;
                        found?: unknown;
                        property?: string;
                        expected?: string;
                    };
                    401: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    404: {
                        error_id?: string | undefined;
                        code: number;
                        msg: string;
                    };
                    200: Response;
                };
            };
        };
    };
}, {
    derive: {};
    resolve: {};
    schema: {};
    standaloneSchema: {};
    response: {};
}, {
    derive: {};
    resolve: {};
    schema: {};
    standaloneSchema: {};
    response: {};
} & {
    derive: {};
    resolve: {};
    schema: {};
    standaloneSchema: {};
    response: {};
}>;

/** The registered JWT claims (jose's JWTPayload, which this file does not depend on). */
interface JWTClaims { iss?: string; sub?: string; aud?: string | string[]; jti?: string; nbf?: number; exp?: number; iat?: number; [claim: string]: unknown }
interface AccessClaims extends JWTClaims {
    aud?: string;
    exp: number;
    sub: string;
    email: string;
    app_metadata: Record<string, unknown> | null;
    user_metadata: Record<string, unknown> | null;
    /** The refresh-token family (the session) the token was issued for, as supabase/auth names it. */
    session_id?: string;
}
interface AdminActor {
    id: string;
    email: string;
    user: unknown | null;
    superAdmin: boolean;
}
